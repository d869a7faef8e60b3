/**
 * Shared test helper: runTable's options for an encoder a test opened, with sampling seed 0 and no
 * progress display; `extra` adds to them or replaces them (prompt sets, a counting progress, --limit).
 */
import type { OpenedEncoder } from '../../src/encoder/open-encoder.js';
import type { RunTableOptions } from '../../src/experiments/run-table.js';

export function runOptions(
  { encoder, tokenizer, model }: Pick<OpenedEncoder, 'encoder' | 'tokenizer' | 'model'>,
  out: string,
  extra: Partial<RunTableOptions> = {},
): RunTableOptions {
  return {
    encoder,
    tokenizer,
    model,
    sampling: { seed: 0 },
    out,
    progress: () => ({ add() {}, stop() {} }),
    ...extra,
  };
}
