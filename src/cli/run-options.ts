import type { Command } from 'commander';
import { openEncoder, parsePositiveInt, type EncoderFlags, type OpenedEncoder } from '../encoder/open-encoder.js';
import { runTable, type RunTableResult } from '../experiments/run-table.js';
import type { TableConfig } from '../experiments/table-config.js';
import type { Sampling } from '../tasks/task-definition.js';
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
  for (const name of ['model', 'device', 'threads', 'precision', 'batchSize', 'limit', 'sampleSeed', 'out', 'cache', 'json'] as const) cmd.addOption(makeOption(name));
  return cmd;
}

export function samplingOf(flags: RunFlags): Sampling {
  return {
    ...(flags.limit !== undefined && { limit: parsePositiveInt('--limit', flags.limit) }),
    seed: parseNumber('--sample-seed', flags.sampleSeed, Number.isInteger, 'an integer'),
  };
}

/** Evaluates the table on an opened encoder with a progress bar. */
export function runOpened(cfg: TableConfig, opened: OpenedEncoder, flags: RunFlags): Promise<RunTableResult> {
  return runTable(cfg, {
    encoder: opened.encoder,
    tokenizer: opened.tokenizer,
    model: opened.model,
    sampling: samplingOf(flags),
    out: flags.out,
    cacheDir: flags.cache,
    progress: (total, unit) => startProgress(cfg.name, total, unit),
  });
}

/** Opens the shared encoder and evaluates the table. */
export async function runTableWithFlags(cfg: TableConfig, flags: RunFlags): Promise<RunTableResult> {
  samplingOf(flags); // bad sampling flags fail before a model is opened
  return runOpened(cfg, await openEncoder(flags), flags);
}
