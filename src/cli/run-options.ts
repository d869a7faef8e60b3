import type { Command } from 'commander';
import { openEncoder, parsePositiveInt, type EncoderFlags, type OpenedEncoder } from '../encoder/open-encoder.js';
import { runTable, type RunTableResult } from '../experiments/run-table.js';
import type { SweepDetails } from '../experiments/run-json.js';
import type { TableConfig } from '../experiments/table-config.js';
import type { Sampling } from '../tasks/task-definition.js';
import { makeOption } from './options.js';
import { parseNumber } from './parse.js';
import { UserError } from '../util/errors.js';
import { startProgress } from './progress.js';

/** The options every table-running command (eval, run, sweep) shares. */
export interface RunFlags extends EncoderFlags {
  limit?: string;
  sampleSeed: string;
  out?: string;
  json?: boolean;
  cache?: string;
  shard?: string;
}

export function addRunOptions(cmd: Command): Command {
  for (const name of [
    'model',
    'device',
    'threads',
    'precision',
    'batchSize',
    'limit',
    'sampleSeed',
    'shard',
    'out',
    'cache',
    'json',
  ] as const)
    cmd.addOption(makeOption(name));
  return cmd;
}

/** `--shard 2/8` → shard 2 of 8 (0-based, so 0..7). */
function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || count < 1 || index >= count)
    throw new UserError(
      `--shard ${text}: expected K/N with 0 ≤ K < N, e.g. 0/8 (shards are numbered from 0, like SLURM array ids)`,
    );
  return { index, count };
}

/** The sampling flags (--limit, --sample-seed, --shard); commands without --shard pass none. */
export function samplingOf(flags: Pick<RunFlags, 'limit' | 'sampleSeed' | 'shard'>): Sampling {
  return {
    ...(flags.limit !== undefined && { limit: parsePositiveInt('--limit', flags.limit) }),
    seed: parseNumber('--sample-seed', flags.sampleSeed, Number.isInteger, 'an integer'),
    ...(flags.shard !== undefined && { shard: parseShard(flags.shard) }),
  };
}

/**
 * Evaluates the table on an opened encoder with a progress bar. `sampling` is `samplingOf(flags)`,
 * parsed by the caller before any work so that bad sampling flags fail first.
 */
export function runOpened(
  cfg: TableConfig,
  opened: OpenedEncoder,
  flags: RunFlags,
  sampling: Sampling,
  sweep?: SweepDetails,
): Promise<RunTableResult> {
  return runTable(cfg, {
    ...(sweep && { sweep }),
    encoder: opened.encoder,
    tokenizer: opened.tokenizer,
    model: opened.model,
    sampling,
    out: flags.out,
    cacheDir: flags.cache,
    progress: (total, unit) => startProgress(cfg.name, total, unit),
  });
}

/** Opens the shared encoder and evaluates the table (`sampling` as for `runOpened`: parsed before the model is opened). */
export async function runTableWithFlags(
  cfg: TableConfig,
  flags: RunFlags,
  sampling: Sampling,
  sweep?: SweepDetails,
): Promise<RunTableResult> {
  return runOpened(cfg, await openEncoder(flags), flags, sampling, sweep);
}
