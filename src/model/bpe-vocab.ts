import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../util/errors.js';

/** A BPE vocabulary as Hugging Face stores it: token → id, and merges "a b" in rank order. */
export interface BpeVocab {
  vocab: Record<string, number>;
  merges: string[];
}

/** The contents of Hugging Face's `vocab.json` and `merges.txt`. */
export interface VocabFiles {
  vocabJson: string;
  mergesTxt: string;
}

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';
/** Marks the last symbol of a word, so word-final pieces get their own ids. */
export const END_OF_WORD = '</w>';

/** CLIP's vocabulary has 49152 BPE entries minus the 256 byte symbols and 2 special tokens. */
const CLIP_MERGE_COUNT = 49152 - 256 - 2;

/**
 * GPT-2's bytes_to_unicode: every byte maps to a printable character so that BPE never sees
 * whitespace or control characters. Printable Latin-1 bytes map to themselves; the rest are
 * shifted to U+0100 onwards. Iteration order is CLIP's vocabulary order (printable bytes first).
 */
export const BYTE_TO_CHAR: ReadonlyMap<number, string> = buildByteToChar();

function buildByteToChar(): Map<number, string> {
  const printable = (from: string, to: string): number[] =>
    Array.from({ length: to.charCodeAt(0) - from.charCodeAt(0) + 1 }, (_, i) => from.charCodeAt(0) + i);
  const table = new Map<number, string>();
  for (const b of [...printable('!', '~'), ...printable('¡', '¬'), ...printable('®', 'ÿ')]) {
    table.set(b, String.fromCharCode(b));
  }
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (!table.has(b)) table.set(b, String.fromCharCode(256 + shifted++));
  }
  return table;
}

function assembleVocab(merges: string[]): BpeVocab {
  const byteChars = [...BYTE_TO_CHAR.values()];
  const tokens = [
    ...byteChars,
    ...byteChars.map((c) => c + END_OF_WORD),
    ...merges.map((m) => m.replace(' ', '')),
    START_OF_TEXT,
    END_OF_TEXT,
  ];
  return { vocab: Object.fromEntries(tokens.map((t, id) => [t, id])), merges };
}

/**
 * A vocabulary of the 256 byte symbols (plain and word-final) and the special tokens, with no
 * merges: any text tokenizes, one id per byte. Useful for tiny test models.
 */
export function byteLevelVocab(): BpeVocab {
  return assembleVocab([]);
}

/** OpenAI CLIP's vocabulary (49408 ids) from its `bpe_simple_vocab_16e6.txt.gz`. */
export async function clipVocabFromBpeGz(path: string): Promise<BpeVocab> {
  let text: string;
  try {
    text = gunzipSync(await readFile(path)).toString('utf8');
  } catch (err) {
    throw new UserError(`${path}: cannot read gzipped BPE merges (${(err as Error).message})`);
  }
  // The first line is a version header, as in merges.txt.
  const merges = text.split('\n').slice(1, CLIP_MERGE_COUNT + 1);
  if (merges.length !== CLIP_MERGE_COUNT || merges.some((m) => m.split(' ').length !== 2)) {
    throw new UserError(`${path}: expected ${CLIP_MERGE_COUNT} merge lines "a b" after the header`);
  }
  return assembleVocab(merges);
}

/** Serializes a vocabulary as Hugging Face's `vocab.json` and `merges.txt`. */
export function vocabFiles(v: BpeVocab): VocabFiles {
  return {
    vocabJson: JSON.stringify(v.vocab),
    mergesTxt: `${['#version: 0.2', ...v.merges].join('\n')}\n`,
  };
}
