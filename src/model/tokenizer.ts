import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { parseWith } from '../util/schema-check.js';
import { readTextFile } from '../util/text-file.js';
import { BYTE_TO_CHAR, END_OF_TEXT, END_OF_WORD, START_OF_TEXT } from './bpe-vocab.js';
import { cleanText } from './text-clean.js';

/**
 * CLIP's pre-tokenization: special tokens, English contractions, letter runs, single digits, and
 * runs of other non-space characters. The reference uses `\s` here; after cleanText the only
 * whitespace Python recognizes is ' ', and writing ' ' keeps U+FEFF a symbol as it is there.
 */
const WORD_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^ \p{L}\p{N}]+/gu;

const VocabJson = z.record(z.string(), z.number().int().nonnegative());

/** Symbols of one word after BPE, e.g. ["ph", "oto</w>"]. */
type BpeSymbols = readonly string[];

/** Lowercased CLIP byte-level BPE tokenizer (OpenAI's simple_tokenizer) over Hugging Face files. */
export class ClipTokenizer {
  private readonly vocab: ReadonlyMap<string, number>;
  /** "a b" → rank; a lower rank merges first. */
  private readonly mergeRanks: ReadonlyMap<string, number>;
  private readonly cache = new Map<string, BpeSymbols>();
  private readonly sot: number;
  private readonly eot: number;

  /**
   * Reads Hugging Face's `vocab.json` and `merges.txt` (UTF-8, a BOM allowed), checking that every
   * symbol BPE can produce has an id: otherwise some text would fail only when it is encoded.
   */
  static async fromFiles(vocabPath: string, mergesPath: string): Promise<ClipTokenizer> {
    const vocab = parseVocabJson(vocabPath, await readTextFile(vocabPath));
    for (const special of [START_OF_TEXT, END_OF_TEXT]) {
      if (!(special in vocab)) throw new UserError(`${vocabPath}: vocabulary has no ${special} token`);
    }
    for (const byte of BYTE_TO_CHAR.values()) {
      for (const symbol of [byte, byte + END_OF_WORD]) {
        if (!(symbol in vocab))
          throw new UserError(`${vocabPath}: vocabulary has no byte symbol ${JSON.stringify(symbol)}`);
      }
    }
    const merges = parseMergesTxt(mergesPath, await readTextFile(mergesPath));
    const unknown = merges.findIndex((m) => !(m.replace(' ', '') in vocab));
    if (unknown >= 0) {
      throw new UserError(
        `${mergesPath}: line ${unknown + 2}: merge "${merges[unknown]}" makes a symbol ${vocabPath} has no id for`,
      );
    }
    return new ClipTokenizer(vocab, merges);
  }

  /** @param merges "a b" pairs, highest priority first. */
  constructor(vocab: Record<string, number>, merges: string[]) {
    this.vocab = new Map(Object.entries(vocab));
    this.mergeRanks = new Map(merges.map((m, rank) => [m, rank]));
    this.sot = this.idOf(START_OF_TEXT);
    this.eot = this.idOf(END_OF_TEXT);
  }

  get sotId(): number {
    return this.sot;
  }

  get eotId(): number {
    return this.eot;
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** The largest id: it must index the model's token embedding, whose rows are `vocab_size`. */
  get maxId(): number {
    let max = 0;
    for (const id of this.vocab.values()) max = Math.max(max, id);
    return max;
  }

  /**
   * Token ids SOT … EOT, not padded. Text longer than `contextLength` is cut as OpenAI's
   * `clip.tokenize(truncate=True)` does: the last kept id is replaced by EOT.
   */
  encode(text: string, contextLength = 77): number[] {
    const ids = [this.sot];
    for (const [word] of cleanText(text).matchAll(WORD_PATTERN)) {
      for (const symbol of this.bpe(word)) ids.push(this.idOf(symbol));
    }
    ids.push(this.eot);
    if (ids.length <= contextLength) return ids;
    const truncated = ids.slice(0, contextLength);
    truncated[contextLength - 1] = this.eot;
    return truncated;
  }

  private idOf(symbol: string): number {
    const id = this.vocab.get(symbol);
    if (id === undefined) throw new Error(`BPE symbol ${JSON.stringify(symbol)} is not in the vocabulary`);
    return id;
  }

  private bpe(word: string): BpeSymbols {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const symbols = word === START_OF_TEXT || word === END_OF_TEXT ? [word] : this.mergeWord(word);
    this.cache.set(word, symbols);
    return symbols;
  }

  /** Repeatedly merges the adjacent pair of lowest rank (all its occurrences) until none is ranked. */
  private mergeWord(word: string): BpeSymbols {
    const chars = [...Buffer.from(word, 'utf8')].map((b) => BYTE_TO_CHAR.get(b)!);
    let symbols = [...chars.slice(0, -1), chars[chars.length - 1] + END_OF_WORD];
    while (symbols.length > 1) {
      let best: { first: string; second: string; rank: number } | undefined;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && (best === undefined || rank < best.rank)) {
          best = { first: symbols[i]!, second: symbols[i + 1]!, rank };
        }
      }
      if (!best) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === best.first && symbols[i + 1] === best.second) {
          merged.push(best.first + best.second);
          i++;
        } else {
          merged.push(symbols[i]!);
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}

function parseVocabJson(path: string, text: string): Record<string, number> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseWith(VocabJson, json, `${path}: expected an object of token → integer id;`);
}

function parseMergesTxt(path: string, text: string): string[] {
  const [header, ...lines] = text.split(/\r?\n/);
  if (!header!.startsWith('#version')) throw new UserError(`${path}: first line is not a "#version" header`);
  const bad = lines.findIndex((line) => line !== '' && line.split(' ').length !== 2);
  if (bad >= 0) throw new UserError(`${path}: line ${bad + 2} is not a merge "a b"`);
  return lines.filter((line) => line !== '');
}
