import type { DatasetInfo } from './dataset-info.js';

/** One command-line option of an importer (`falip data import <name> --flag ...`). */
export interface ImporterOption {
  /** Commander syntax, e.g. `--root <dir>` or `--split <name>`. */
  flags: string;
  help: string;
  defaultValue?: string;
  choices?: readonly string[];
  required?: boolean;
}

/** What an import wrote, for the command to print. */
export interface ImportReport {
  dir: string;
  info: DatasetInfo;
  /** Facts worth a line each (fallbacks taken, counts compared with the paper's). */
  notes: string[];
  /** Kept-but-suspicious input, `file:line: field: problem`. */
  warnings: string[];
}

/**
 * One source format as released (ReCLIP's jsonl, CUB's text files, ...), turned into a validated
 * manifest under `<datasets>/<name>/<split>/`. A task lists its importers; the `falip data import`
 * subcommands are made from them.
 */
export interface DatasetImporter {
  /** The subcommand, and the dataset name stored in dataset.json. */
  name: string;
  /** One line for `--help`. */
  summary: string;
  options: readonly ImporterOption[];
  /** Option values by commander's camel-cased names; `outRoot` is the datasets folder to write into. */
  run(options: Record<string, string | undefined>, outRoot: string | undefined): Promise<ImportReport>;
}
