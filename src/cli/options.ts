import { Option } from 'commander';
import { PRECISIONS } from '../model/onnx/precision.js';

/**
 * One typed table of the options that several commands share, so every command spells, documents and
 * defaults them the same way (and configs can be validated against the same names).
 */
export interface OptionSpec {
  flags: string;
  help: string;
  defaultValue?: string | boolean;
  choices?: readonly string[];
}

export const SHARED_OPTIONS = {
  model: { flags: '--model <name|dir>', help: 'registered model name or a Hugging Face CLIP folder', defaultValue: 'tiny' },
  device: { flags: '--device <device>', help: 'execution provider', defaultValue: 'auto', choices: ['auto', 'cpu', 'cuda', 'webgpu'] },
  precision: { flags: '--precision <p>', help: 'float type of the graphs: fp16 is for GPUs', defaultValue: 'fp32', choices: PRECISIONS },
  threads: { flags: '--threads <n>', help: 'CPU threads for inference (default: all cores)' },
  json: { flags: '--json', help: 'print machine-readable JSON on stdout instead of a table' },
  limit: { flags: '--limit <n>', help: 'evaluate a seeded random subset of N items (not the first N)' },
  sampleSeed: { flags: '--sample-seed <n>', help: 'seed of the --limit subset', defaultValue: '0' },
  out: { flags: '--out <dir>', help: 'results folder (default: results/<run name>-<config hash>)' },
  split: { flags: '--split <name...>', help: "splits to evaluate (default: the paper's: testA testB val; test val for refcocog)" },
  setting: { flags: '--setting <setting>', help: 'candidate boxes: gold annotations or detector proposals', defaultValue: 'gold', choices: ['gold', 'prop'] },
  batchSize: { flags: '--batch-size <n>', help: 'requests per model call (default: 8 on CPU, 64 on GPUs)' },
  alpha: { flags: '--alpha <a>', help: 'FALIP mask peak value α', defaultValue: '0.2' },
  sigma: { flags: '--sigma <s>', help: 'FALIP Gaussian σ, in tokens', defaultValue: '100' },
  layers: { flags: '--layers <list>', help: "1-based layers that get the mask, e.g. '9-12', '12', '1,3,5-7' (default: the last 4)" },
  form: { flags: '--form <form>', help: 'mask form: a = CLS query row, b = every row, c = diagonal', defaultValue: 'a', choices: ['a', 'b', 'c'] },
  heads: { flags: '--heads <list>', help: "1-based heads that get the mask, e.g. '1-4' (default: all)" },
} satisfies Record<string, OptionSpec>;

export type SharedOptionName = keyof typeof SHARED_OPTIONS;

export function makeOption(name: SharedOptionName): Option {
  const spec: OptionSpec = SHARED_OPTIONS[name];
  const opt = new Option(spec.flags, spec.help);
  if (spec.defaultValue !== undefined) opt.default(spec.defaultValue);
  if (spec.choices) opt.choices(spec.choices);
  return opt;
}
