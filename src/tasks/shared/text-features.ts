import type { Encoder } from '../../encoder/encoder.js';
import type { ClipTokenizer } from '../../model/tokenizer.js';
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

  /** Mean of the normalized features of `texts` (subtraction's negatives, a class's template ensemble). */
  async mean(texts: readonly string[]): Promise<Float32Array> {
    const feats = await Promise.all(texts.map((t) => this.get(t)));
    const out = new Float32Array(feats[0]!.length);
    for (const f of feats) for (let i = 0; i < f.length; i++) out[i]! += f[i]! / feats.length;
    return out;
  }
}
