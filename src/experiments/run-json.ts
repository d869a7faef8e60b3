import { z } from 'zod';
import { ARCH_NAMES } from '../model/clip-config.js';
import { PROMPT_MASKS } from '../model/graphs/vision-prompts.js';
import { MASK_FORMS } from '../prompts/falip-mask.js';
import { provenanceSchema, readRunFile } from '../report/run-files.js';
import { DERIVATIONS } from '../report/results-table.js';
import { CLASS_SUBSETS, subsetSplitKey } from '../tasks/shared/class-subsets.js';
import { sha256HexSchema } from '../util/sha256.js';

/**
 * The typed contract of run.json: the run key (what decides the numbers), the table it renders, and
 * the sweep it plots. Writers build these types; every reader (resume, `falip table`, `falip merge`,
 * `falip report`, its example cards) parses through these schemas, so a field is named and checked in
 * one place.
 */

const count = z.number().int().nonnegative();

/** A method as a config names it, parameters as given (`{ name: falip, params: { alpha: 0.1 } }`). */
export const methodEntrySchema = z.object({ name: z.string().min(1), params: z.record(z.string(), z.unknown()) });
export type MethodEntry = z.output<typeof methodEntrySchema>;

/**
 * A table column that reads records: a dataset split (`data`), the task's metric it shows, and for
 * tasks with class subsets one half of the split's classes (base-to-new).
 */
const dataColumnSchema = z.object({
  key: z.string(),
  data: z.string(),
  label: z.string(),
  metric: z.string(),
  classes: z.enum(CLASS_SUBSETS).optional(),
});
export type DataColumn = z.output<typeof dataColumnSchema>;

/** A column computed from other columns of the same row: their mean, or their harmonic mean (H). */
const derivedColumnSchema = z.object({
  key: z.string(),
  label: z.string(),
  derive: z.enum(DERIVATIONS),
  of: z.array(z.string()).min(2),
});
export type DerivedColumn = z.output<typeof derivedColumnSchema>;

const columnConfigSchema = z.union([derivedColumnSchema, dataColumnSchema]);
export type ColumnConfig = z.output<typeof columnConfigSchema>;

export function isDataColumn(c: ColumnConfig): c is DataColumn {
  return 'data' in c;
}

/** The records a data column reads: those of its split, or of one half of its classes (`oxford_pets/test/base`). */
export function recordsSplitOf(c: DataColumn): string {
  return subsetSplitKey(c.data, c.classes ?? 'all');
}

const rowConfigSchema = z.object({
  key: z.string(),
  label: z.string(),
  methods: z.array(methodEntrySchema).optional(),
  /** Rows falip cannot compute stay in the table with this status. */
  status: z.literal('not implemented').optional(),
  /**
   * Registered prompt sets of the model: the row runs that prompt-tuned CLIP; with a list, each set
   * (and the table shows their mean and spread); `{dataset}` in a name stands for each column's dataset.
   */
  prompts: z.union([z.string(), z.array(z.string())]).optional(),
  /** How FALIP's mask treats the prompt set's vision tokens (default zero). */
  prompt_mask: z.enum(PROMPT_MASKS).optional(),
  /** The paper's number per column key (and `avg`); null where the paper prints none. */
  paper: z.record(z.string(), z.number().nullable()),
  /** The task's row options, with its defaults (REC: setting, subtract). */
  options: z.unknown(),
});
export type RowConfig = z.output<typeof rowConfigSchema>;

/** A table as `falip run`, `falip eval` and `falip sweep` evaluate it: a config with every default filled. */
export const tableConfigSchema = z.object({
  name: z.string(),
  title: z.string(),
  task: z.string(),
  /** The architecture the paper's numbers were measured on; other geometries get no paper number. */
  arch: z.enum(ARCH_NAMES),
  columns: z.array(columnConfigSchema),
  rows: z.array(rowConfigSchema),
  baseline: z.string().optional(),
  average: z.boolean(),
  footnotes: z.array(z.string()),
});
export type TableConfig = z.output<typeof tableConfigSchema>;

/**
 * A row's learned prompts as the run key holds them: the set, the checkpoint it was read from and the
 * tensors it registered (both sha256; the base model is the run's), and the mask choice where the set
 * has vision prompts.
 */
export const rowPromptsKeySchema = z
  .object({
    name: z.string(),
    trainer: z.string(),
    checkpoint: sha256HexSchema,
    tensors: sha256HexSchema,
    mask: z.enum(PROMPT_MASKS).optional(),
  })
  .strict();
export type RowPromptsKey = z.output<typeof rowPromptsKeySchema>;

/**
 * One evaluated row as the run key holds it: its methods with every parameter resolved on the model,
 * and its prompts (per dataset, for a set named with `{dataset}`).
 */
const runRowKeySchema = z.object({
  key: z.string(),
  methods: z.array(methodEntrySchema),
  options: z.unknown(),
  prompts: z.union([rowPromptsKeySchema, z.record(z.string(), rowPromptsKeySchema)]).optional(),
});
export type RunRowKey = z.output<typeof runRowKeySchema>;

const shardSchema = z.object({ index: count, count: z.number().int().positive() });

/**
 * Everything that changes the numbers, and nothing else: its hash names the folder and decides whether
 * an existing folder is resumed (the model, precision, every method parameter, the data's content
 * hashes, sampling, the shard).
 */
export const runKeySchema = z
  .object({
    task: z.string(),
    model: z.object({ sha256: sha256HexSchema, config: sha256HexSchema, precision: z.string() }),
    rows: z.array(runRowKeySchema),
    /** Each evaluated dataset split with the content hash of what decides its numbers. */
    splits: z.array(z.object({ key: z.string(), content: sha256HexSchema })),
    sampling: z.object({ limit: z.number().int().positive().nullable(), sample_seed: z.number().int() }),
    shard: shardSchema.optional(),
  })
  .strict();
export type RunKey = z.output<typeof runKeySchema>;

/** What a folder needs to render its table from its records alone; the same in every shard of a run. */
export const renderDetailsSchema = z.object({
  config: tableConfigSchema,
  footnotes: z.array(z.string()),
  /** Rows whose paper numbers do not apply to this run (another geometry). */
  withheld: z.array(z.string()),
  not_imported: z.array(z.string()),
  /** Rows whose prompt set for a dataset is not registered (`{dataset}` names): row key → datasets. */
  missing_prompts: z.record(z.string(), z.array(z.string())).optional(),
  bootstrap_seed: z.number().int(),
  /** No paper number at all (random weights): cells show ours alone, without a "custom" mark. */
  hide_paper: z.boolean(),
  /** Splits that hold part of the paper's split: samples evaluated (after --limit) and the paper's count. */
  partial_splits: z.record(z.string(), z.object({ evaluated: count, paper: count })),
});
export type RenderDetails = z.output<typeof renderDetailsSchema>;

/** What a sweep's folder keeps so that its plots can be drawn again (after `falip merge`). */
const sweepDetailsSchema = z.object({
  /** The grid: each FALIP parameter's values (layers null: the model's last 4). */
  axes: z.object({
    alpha: z.array(z.number()),
    sigma: z.array(z.number()),
    layers: z.array(z.string().nullable()),
    form: z.array(z.enum(MASK_FORMS)),
  }),
  /** What was evaluated, for the titles, e.g. "refcoco (mean of 3 splits)". */
  subject: z.string(),
  /** Overlay the paper's Table 10/11 curves (REC sweeps). */
  paperCurves: z.boolean(),
});
export type SweepDetails = z.output<typeof sweepDetailsSchema>;

const visionSchema = z.object({
  hiddenSize: z.number().int().positive(),
  intermediateSize: z.number().int().positive(),
  numLayers: z.number().int().positive(),
  numHeads: z.number().int().positive(),
  layerNormEps: z.number().positive(),
  patchSize: z.number().int().positive(),
  imageSize: z.number().int().positive(),
});

/** What readers of run.json want beside the key (titles, labels, how to render); changing it never recomputes. */
export const runDetailsSchema = z.object({
  title: z.string(),
  model: z.object({
    name: z.string(),
    device: z.string(),
    vision: visionSchema,
    /** How falip generated the weights when they are random (no paper number stands beside them), else null. */
    random_weights: z.string().nullable(),
  }),
  render: renderDetailsSchema,
  sweep: sweepDetailsSchema.optional(),
  /** Records the whole run holds when complete (every row × item of this run's splits, this shard's). */
  expected_records: z.number().int().nonnegative(),
  /** `falip merge`: the shard folders this run was put together from. */
  merged_from: z.array(z.string()).optional(),
});
export type RunDetails = z.output<typeof runDetailsSchema>;

/** The items one row of a run evaluates on a split: how many, and the sha256 of their sorted ids (one a line). */
const itemListSchema = z.object({ count, ids_sha256: sha256HexSchema });
export type ItemList = z.output<typeof itemListSchema>;

export const runJsonSchema = z.object({
  name: z.string(),
  config_hash: z.string().regex(/^[0-9a-f]{12}$/),
  key: runKeySchema,
  details: runDetailsSchema,
  seeds: z.record(z.string(), z.number()),
  provenance: provenanceSchema,
  /** Provenance of each later session that resumed the run, which may run other code. */
  resumed_with: z.array(provenanceSchema).optional(),
  /**
   * Per split, the items each row evaluates (absent in folders of older runs): `falip merge` checks every
   * record's id against it, and `falip table` says how far an unfinished run got.
   */
  items: z.record(z.string(), itemListSchema).optional(),
  /**
   * Set when every item of the run was recorded: how many records that is, and the sha256 of
   * records.jsonl as written then (absent in folders of older runs), so a record edited since is seen.
   */
  complete: z.object({ items: count, records_sha256: sha256HexSchema.optional() }).optional(),
});
export type RunJson = z.output<typeof runJsonSchema>;

/** A folder's run.json, parsed; null when there is none. */
export function readRunJson(path: string): Promise<RunJson | null> {
  return readRunFile(path, runJsonSchema);
}
