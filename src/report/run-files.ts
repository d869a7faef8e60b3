import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { parseWith } from '../util/schema-check.js';

/**
 * The files of a results folder and what report/ reads of them: metrics.json (the rendered table as
 * data) and the provenance in run.json. run.json's run key and details are experiments' (run-json.ts).
 */

export const RUN_JSON = 'run.json';
export const METRICS_JSON = 'metrics.json';
export const RECORDS_JSONL = 'records.jsonl';
/** What a row needs from every item before it can write their records (the β search's per-view scores). */
export const INTERMEDIATE_JSONL = 'intermediate.jsonl';

const count = z.number().int().nonnegative();
const interval = z.tuple([z.number(), z.number()]);

/** Where a result came from: enough to tell two runs' software and checkout apart. */
export const provenanceSchema = z
  .object({
    falip_version: z.string(),
    node: z.string(),
    /** Version of the installed onnxruntime-node package, null if it cannot be found. */
    onnxruntime: z.string().nullable(),
    /** HEAD of the checkout, null when not run from a git checkout. */
    git_commit: z.string().nullable(),
    /** Uncommitted changes were present, so `git_commit` does not fully describe the code. */
    dirty: z.boolean(),
    platform: z.string(),
    cpus: z.number().int(),
    created_at: z.string(),
    command: z.string(),
  })
  // What only the caller knows (model, device) rides along.
  .catchall(z.unknown());
export type Provenance = z.output<typeof provenanceSchema>;

/** One table cell: ours (the column's metric, percent), the paper's, Δ, why ours is missing, vs the baseline. */
const cellJsonSchema = z.object({
  ours: z
    .object({
      value: z.number(),
      n: count,
      ci: interval.nullable(),
      /** A row over several prompt sets: their standard deviation, over how many of them. */
      spread: z.object({ sd: z.number(), runs: count, of: count }).optional(),
    })
    .nullable(),
  paper: z.number().nullable(),
  delta: z.number().nullable(),
  status: z.string().nullable(),
  paired_vs_baseline: z.object({ n: count, diff: z.number(), ci: interval }).nullable(),
});
export type CellJson = z.output<typeof cellJsonSchema>;

/** metrics.json: the rendered table as data, with its column labels and footnotes. */
export const metricsJsonSchema = z.object({
  title: z.string(),
  /** `subset`: the split holds part of the paper's ("12 of 2,468 clouds"). */
  columns: z.array(z.object({ key: z.string(), label: z.string(), subset: z.string().optional() })),
  rows: z.array(z.object({ row: z.string(), label: z.string(), cells: z.record(z.string(), cellJsonSchema) })),
  footnotes: z.array(z.string()),
  /** Records the table was computed from. */
  items: count,
});
export type MetricsJson = z.output<typeof metricsJsonSchema>;

/**
 * A results-folder JSON file through its schema; null when it does not exist. A file that does not fit
 * (damaged, edited, or written by an older falip) is one line naming it.
 */
export async function readRunFile<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${path}: not JSON (damaged, or not written by falip)`);
  }
  return parseWith(schema, json, `${path}: not a ${path.split('/').pop()} of this falip version`);
}
