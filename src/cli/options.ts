import { Option, type Command } from 'commander';
import type { OpenEncoderOptions } from '../encoder/open-encoder.js';
import { PRECISIONS, parsePrecision } from '../model/onnx/precision.js';
import { DEMO_MODEL } from '../model/model-registry.js';
import { UserError } from '../util/errors.js';
import { listValues, parsePositiveInt } from './parse.js';
import { allMethodParams } from '../prompts/registry.js';
import { TASKS, taskOfDataset } from '../tasks/registry.js';
import type { TaskFlag } from '../tasks/task-definition.js';

/**
 * One typed table of the options that several commands share, so every command spells, documents and
 * defaults them the same way. Method parameters and task options come from their registries.
 */
export interface OptionSpec {
  flags: string;
  help: string;
  defaultValue?: string | boolean;
  choices?: readonly string[];
}

/**
 * The options that open an encoder, one group typed against what `openEncoder` takes: every command
 * that opens an encoder adds all of them (`addEncoderOptions`) and reads them back with `encoderOptionsOf`.
 */
export const ENCODER_OPTIONS = {
  model: {
    flags: '--model <name|dir>',
    help: `registered model name or a Hugging Face CLIP folder (falip model import); required for real datasets, default ${DEMO_MODEL} on the demo sets`,
  },
  device: {
    flags: '--device <device>',
    help: 'execution provider: auto, cpu, cuda, cuda:K (GPU K, e.g. one shard per GPU) or webgpu',
    defaultValue: 'auto',
  },
  precision: {
    flags: '--precision <p>',
    help: 'float type of the graphs: fp16 is for GPUs, int8 for the CPU (falip bench --precision int8 measures it)',
    defaultValue: 'fp32',
    choices: PRECISIONS,
  },
  threads: { flags: '--threads <n>', help: 'CPU threads for inference (default: all cores)' },
  batchSize: { flags: '--batch-size <n>', help: 'requests per model call (default: 8 on CPU, 64 on GPUs)' },
} satisfies Record<keyof OpenEncoderOptions, OptionSpec>;

/** The encoder group's flags as commander hands them over (strings, defaults filled). */
export type EncoderFlags = {
  [K in keyof typeof ENCODER_OPTIONS]: K extends 'threads' | 'batchSize' | 'model' ? string | undefined : string;
};

/**
 * The model(s) a command evaluates `datasets` with: `--model` (a comma list), else the shipped demo model
 * when every dataset is one falip generates. A real dataset needs weights the user brings: evaluating it
 * on a model the user did not choose would print numbers that look like CLIP's and are not.
 */
export function modelsFor(given: string | undefined, datasets: readonly string[]): string[] {
  const models = listValues(given);
  if (models && models.length > 0) return [...new Set(models)];
  const real = datasets.filter((d) => !taskOfDataset(d)?.dataset.generate);
  if (real.length > 0)
    throw new UserError(
      `${real.join(', ')}: give --model: falip ships no CLIP for real datasets; import yours once (falip model import DIR --name vit-b-16) and pass --model vit-b-16`,
    );
  return [DEMO_MODEL];
}

export function addEncoderOptions(cmd: Command): Command {
  for (const spec of Object.values(ENCODER_OPTIONS)) cmd.addOption(optionOf(spec));
  return cmd;
}

/** The encoder group's flags, parsed; `model` when the command decided it (modelsFor), else the demo model. */
export function encoderOptionsOf(f: EncoderFlags, model = f.model ?? DEMO_MODEL): OpenEncoderOptions {
  return {
    model,
    device: f.device,
    precision: parsePrecision(f.precision),
    ...(f.threads !== undefined && { threads: parsePositiveInt('--threads', f.threads) }),
    ...(f.batchSize !== undefined && { batchSize: parsePositiveInt('--batch-size', f.batchSize) }),
  };
}

/** Options that several commands share, beside the encoder group. */
export const SHARED_OPTIONS = {
  json: { flags: '--json', help: 'print machine-readable JSON on stdout instead of a table' },
  limit: {
    flags: '--limit <n>',
    help: 'evaluate a seeded random subset of N samples per split (REC: refs, with all their sentences; classification: images; 3D: clouds), not the first N',
  },
  sampleSeed: { flags: '--sample-seed <n>', help: 'seed of the --limit subset', defaultValue: '0' },
  out: { flags: '--out <dir>', help: 'results folder (default: results/<run name>-<run key hash>)' },
  split: { flags: '--split <names...>', help: "splits to evaluate, space- or comma-separated (default: the paper's)" },
  method: {
    flags: '--method <names...>',
    help: 'methods, one row each, space- or comma-separated; compose with + (falip methods lists them)',
  },
  shard: {
    flags: '--shard <K/N>',
    help: 'evaluate shard K (0-based) of N: the items whose id hashes to K, after --limit; put the shards together with falip merge',
  },
  prompts: {
    flags: '--prompts <names...>',
    help: "a prompt-tuned CLIP's learned prompts (falip prompts list): every row once per prompt set, none = the base CLIP; space- or comma-separated",
  },
  classes: {
    flags: '--classes <which...>',
    help: 'base-to-new (classification): columns for all classes, the base classes (the first ⌈n/2⌉ labels) and/or the new ones, each half relabelled and classified among itself; base and new together add H = 2BN/(B+N); space- or comma-separated (default: all)',
  },
  promptMask: {
    flags: '--prompt-mask <mask>',
    help: "FALIP on prompted images: zero (default) keeps the mask out of the prompt tokens' rows and columns; cls lets the CLS query attend to them with the mask's peak value",
  },
  cache: {
    flags: '--cache <dir>',
    help: 'on-disk image-feature cache: re-running a table with one changed row recomputes only that row',
  },
} satisfies Record<string, OptionSpec>;

export type SharedOptionName = keyof typeof SHARED_OPTIONS;

function optionOf(spec: OptionSpec): Option {
  const opt = new Option(spec.flags, spec.help);
  if (spec.defaultValue !== undefined) opt.default(spec.defaultValue);
  if (spec.choices) opt.choices(spec.choices);
  return opt;
}

export function makeOption(name: SharedOptionName): Option {
  return optionOf(SHARED_OPTIONS[name]);
}

/** `alpha` → `--alpha`, `circle_thickness` → `--circle-thickness`. */
export function flagOf(param: string): string {
  return `--${param.replaceAll('_', '-')}`;
}

/** Commander's property for a flag: `--circle-thickness` → `circleThickness`. */
export function flagProperty(param: string): string {
  return param.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** One `--<param>` per method parameter in the registry, with the parameter's own help; no defaults (a flag given is a value). */
export function addMethodParamOptions(cmd: Command): Command {
  for (const [name, spec] of allMethodParams())
    cmd.addOption(
      new Option(`${flagOf(name)} ${spec.placeholder}`, `${spec.help}; applies to the methods that read it`),
    );
  return cmd;
}

/** Every task's own flags, with the task named in the help (tasks share no flag names: commander refuses a repeated flag). */
export function addTaskOptions(cmd: Command): Command {
  for (const task of TASKS) {
    for (const f of task.flags as readonly TaskFlag[])
      cmd.addOption(optionOf({ ...f, help: `${f.help} [${task.name}]` }));
  }
  return cmd;
}
