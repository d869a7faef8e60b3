import path from 'node:path';

/** test/fixtures/: data the tests need and cannot generate (see its README). */
export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');

export const CLIP_BPE_GZ = path.join(FIXTURES, 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');
export const TOKENIZER_CASES = path.join(FIXTURES, 'clip-bpe', 'tokenizer_cases.jsonl');

/** One of the paper's tables as CSV, e.g. `paperCsv('table1_rec')`. */
export function paperCsv(name: string): string {
  return path.join(FIXTURES, 'paper', `${name}.csv`);
}
