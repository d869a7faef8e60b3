import type { Encoder } from '../../encoder/encoder.js';
import type { TextPromptInputs } from '../../encoder/requests.js';
import { classContext } from '../../model/graphs/prompted-text-graph.js';
import type { ClipTokenizer } from '../../model/tokenizer.js';
import { UserError } from '../../util/errors.js';
import { normalized } from '../../util/vector.js';

/** Normalized text features, each text encoded once per model (captions repeat across methods and rows). */
export class TextFeatures {
  private readonly cache = new Map<string, Promise<Float32Array>>();

  constructor(
    private readonly encoder: Encoder,
    private readonly tokenizer: ClipTokenizer,
  ) {}

  get(text: string): Promise<Float32Array> {
    let p = this.cache.get(text);
    if (!p) {
      // Texts longer than the context are cut to it (the reference tokenizer refuses them); run-table footnotes how many.
      const ids = this.tokenizer.encode(text, this.encoder.config.text.contextLength);
      p = this.encoder.text(ids).then(normalized);
      this.cache.set(text, p);
    }
    return p;
  }

  /**
   * The normalized feature of a prompt-tuned CLIP's text "X … X <words>" (`prompts.tokens` X's), whose
   * X's are replaced by the context of class `classIndex` (the shared one unless it is class-specific):
   * positions 1..n_ctx of the ids must be the X's, or the context would replace something else.
   */
  prompted(text: string, prompts: TextPromptInputs, classIndex: number): Promise<Float32Array> {
    const key = `${prompts.key}|${prompts.classes === null ? '' : classIndex}|${text}`;
    let p = this.cache.get(key);
    if (!p) {
      const ids = this.tokenizer.encode(text, this.encoder.config.text.contextLength);
      const x = this.tokenizer.encode('X')[1];
      const n = prompts.tokens;
      if (ids.length < n + 2 || ids.slice(1, 1 + n).some((id) => id !== x))
        throw new UserError(
          `prompt text "${text}": the tokenizer does not give its first ${n} words as one X token each, where the learned context goes`,
        );
      const ctx = classContext(prompts, classIndex, this.encoder.config.text.hiddenSize);
      p = this.encoder.text(ids, { prompts, ctx }).then(normalized);
      this.cache.set(key, p);
    }
    return p;
  }

  /** Mean of the normalized features of `texts` (subtraction's negatives, a class's template ensemble). */
  async mean(texts: readonly string[]): Promise<Float32Array> {
    const feats = await Promise.all(texts.map((t) => this.get(t)));
    const out = new Float32Array(feats[0]!.length);
    for (const f of feats) for (let i = 0; i < f.length; i++) out[i]! += f[i]! / feats.length;
    return out;
  }
}
