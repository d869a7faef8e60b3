import type { Command } from 'commander';
import { openEncoder, type OpenedEncoder } from '../encoder/open-encoder.js';
import { runTable, type RunTableResult } from '../experiments/run-table.js';
import type { SweepDetails } from '../experiments/run-json.js';
import type { TableConfig } from '../experiments/table-config.js';
import { isPromptSetRegistered, readRegisteredPromptSet } from '../model/learned-prompts/prompt-registry.js';
import type { PromptSetSource } from '../experiments/row-prompts.js';
import type { Sampling } from '../tasks/task-definition.js';
import { addEncoderOptions, type EncoderFlags, encoderOptionsOf, makeOption } from './options.js';
import { parseInteger, parsePositiveInt, parseShard } from './parse.js';
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
  addEncoderOptions(cmd);
  for (const name of ['limit', 'sampleSeed', 'shard', 'out', 'cache', 'json'] as const) cmd.addOption(makeOption(name));
  return cmd;
}

/** The sampling flags (--limit, --sample-seed, --shard); commands without --shard pass none. */
export function samplingOf(flags: Pick<RunFlags, 'limit' | 'sampleSeed' | 'shard'>): Sampling {
  return {
    ...(flags.limit !== undefined && { limit: parsePositiveInt('--limit', flags.limit) }),
    seed: parseInteger('--sample-seed', flags.sampleSeed),
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
    prompts: promptSetSource(opened),
    progress: (total, unit, alreadyDone) => startProgress(cfg.name, total, unit, alreadyDone),
  });
}

/** Opens the shared encoder and evaluates the table (`sampling` as for `runOpened`: parsed before the model is opened). */
export async function runTableWithFlags(
  cfg: TableConfig,
  flags: RunFlags,
  sampling: Sampling,
  sweep?: SweepDetails,
): Promise<RunTableResult> {
  return runOpened(cfg, await openEncoder(encoderOptionsOf(flags)), flags, sampling, sweep);
}

/** The prompt sets registered with the opened model. */
export function promptSetSource(opened: OpenedEncoder): PromptSetSource {
  const model = opened.encoder.graphs.model;
  return {
    read: (name) => readRegisteredPromptSet(model, opened.model.sha256, name),
    has: (name) => isPromptSetRegistered(model, name),
    importCommand: (name) => `falip prompts import CKPT --model ${model.name} --name ${name}`,
  };
}
