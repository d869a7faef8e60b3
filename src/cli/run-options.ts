import type { Command } from 'commander';
import { openEncoder, parsePositiveInt, type EncoderFlags } from '../encoder/open-encoder.js';
import { runTable, type RunTableResult } from '../tasks/run-table.js';
import type { TableConfig } from '../tasks/table-config.js';
import { makeOption } from './options.js';
import { parseNumber } from './parse.js';
import { startProgress } from './progress.js';

/** The options every table-running command (eval, run, sweep) shares. */
export interface RunFlags extends EncoderFlags {
  limit?: string;
  sampleSeed: string;
  out?: string;
  json?: boolean;
  cache?: string;
}

export function addRunOptions(cmd: Command): Command {
  for (const name of ['model', 'device', 'threads', 'precision', 'batchSize', 'limit', 'sampleSeed', 'out', 'json'] as const) cmd.addOption(makeOption(name));
  return cmd.option('--cache <dir>', 'on-disk image-feature cache: re-running a table with one changed row recomputes only that row');
}

/** Opens the shared encoder and evaluates the table with a progress bar. */
export async function runTableWithFlags(cfg: TableConfig, flags: RunFlags): Promise<RunTableResult> {
  const limit = flags.limit === undefined ? undefined : parsePositiveInt('--limit', flags.limit);
  const sampleSeed = parseNumber('--sample-seed', flags.sampleSeed, Number.isInteger, 'an integer');
  const { encoder, tokenizer, device } = await openEncoder(flags);
  return runTable(cfg, {
    encoder,
    tokenizer,
    model: { name: encoder.graphs.model.name, sha256: encoder.graphs.sha256, device },
    limit,
    sampleSeed,
    out: flags.out,
    cacheDir: flags.cache,
    progress: (total) => startProgress(cfg.name, total, 'refs'),
  });
}
