import { z } from 'zod';
import { PROMPT_MASKS } from '../model/graphs/vision-prompts.js';
import { NAME_PATTERN } from '../model/model-store.js';
import { checkMethodEntry } from '../prompts/method.js';
import { allMethodParams } from '../prompts/registry.js';
import { closest } from '../util/closest.js';
import { taskNamed } from '../tasks/registry.js';
import type { AnyTask } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';
import { fieldPath, firstIssuePath, issueMessage, safeParseWith } from '../util/schema-check.js';
import { readYamlFile } from '../util/yaml-file.js';
import { CLASS_SUBSETS } from '../tasks/shared/class-subsets.js';
import { type ColumnConfig, isDataColumn, type MethodEntry, type RowConfig, type TableConfig } from './run-json.js';
import { PAPER_ARCHS } from './paper-applicability.js';
import { DATASET_SLOT, rowMembers } from './row-prompts.js';

export type { ColumnConfig, MethodEntry, RowConfig, TableConfig };

/**
 * A paper table as a YAML config (configs/*.yaml): columns are dataset splits (with a metric), rows are
 * methods with their parameters, the task's row options and the paper's numbers. `falip run`
 * evaluates it, `falip table` re-renders it. The task decides which row options exist.
 */

const methodEntrySchema = z.union([z.string(), z.object({ name: z.string() }).loose()]).transform((e): MethodEntry => {
  if (typeof e === 'string') return { name: e, params: {} };
  const { name, ...params } = e;
  return { name, params };
});

/** A prompt set's name, in which `{dataset}` may stand for each column's dataset. */
const promptSetName = z
  .string()
  .refine((n) => NAME_PATTERN.test(n.replaceAll(DATASET_SLOT, 'd')), 'a prompt set name (falip prompts list)');

/** Row keys may name a prompt set after an @ (`falip@coop-pets`). */
const KEY = /^[A-Za-z0-9._+@-]+$/;
const DATA_KEY = /^[^/\s]+\/[^/\s]+$/;

const baseRowSchema = z.object({
  key: z
    .string()
    .regex(KEY, 'letters, digits and . _ + @ - only')
    .describe("the row's id: records, run keys and `baseline` name it; letters, digits and . _ + @ -"),
  label: z.string().describe('how the table prints the row'),
  methods: z
    .array(methodEntrySchema)
    .min(1)
    .optional()
    .describe(
      'the visual prompts of the row: a name (`falip`), a name with parameters (`{ name: falip, alpha: 1 }`), a composition (`redcircle+falip`); several are an ensemble (their scores summed)',
    ),
  /** Registered prompt sets of the model the table runs on (falip prompts list): a prompt-tuned CLIP. */
  prompts: z
    .union([promptSetName, z.array(promptSetName).min(2)])
    .optional()
    .describe(
      "a prompt set registered with the model (falip prompts list): the row runs the prompt-tuned CLIP; a list (e.g. one set per seed) runs each and shows their mean and standard deviation; `{dataset}` in a name stands for each column's dataset (`ivlp-{dataset}-s1`: base-to-new trains one set per dataset)",
    ),
  /** How FALIP's mask treats the prompt set's vision tokens (default zero). */
  prompt_mask: z
    .enum(PROMPT_MASKS)
    .optional()
    .describe(
      "FALIP's mask on the prompt set's vision tokens: zero (none, the default) or cls (CLS attends to them at the mask's peak)",
    ),
  /** Rows falip cannot compute stay in the table with this status. */
  status: z
    .literal('not implemented')
    .optional()
    .describe('a row of the paper falip cannot compute: kept with its paper numbers, no methods'),
  paper: z
    .record(z.string(), z.number().nullable())
    .default({})
    .describe("the paper's number per column key (and `avg`), percent; null where the paper prints none"),
});
const BASE_ROW_KEYS = new Set(Object.keys(baseRowSchema.shape));

export const columnObjectSchema = z
  .object({
    key: z
      .string()
      .min(1)
      .optional()
      .describe(
        "the column's id, which rows' `paper` numbers name (default: `data`, or `data:metric` for tasks with several metrics)",
      ),
    data: z
      .string()
      .regex(DATA_KEY, 'expected dataset/split')
      .optional()
      .describe('the dataset split whose records fill the column, e.g. `refcoco/testA` (default: `key`)'),
    label: z.string().optional().describe('how the table prints the column (default: `data` with a space for /)'),
    metric: z.string().optional().describe("one of the task's metrics (default: the task's first)"),
    classes: z
      .enum(CLASS_SUBSETS)
      .optional()
      .describe(
        "base-to-new (classification): the split's base classes (the first ⌈n/2⌉ labels) or new ones (the rest), relabelled and classified among themselves; default all",
      ),
    mean: z
      .array(z.string())
      .min(2)
      .optional()
      .describe('a derived column (give it a `key`): the mean of these earlier columns (by key) in each row'),
    harmonic_mean: z
      .array(z.string())
      .min(2)
      .optional()
      .describe(
        'a derived column (give it a `key`): the harmonic mean of these earlier columns, e.g. base and new (H = 2BN/(B+N))',
      ),
  })
  .strict();

const columnSchema = z.union([z.string().regex(DATA_KEY, 'expected dataset/split'), columnObjectSchema]);

export const tableSchema = z
  .object({
    name: z.string().regex(KEY).describe("the table's id: names its results folder (letters, digits and . _ + -)"),
    title: z.string().describe("the table's heading"),
    task: z.string().min(1).describe('the task every column is evaluated with (see below)'),
    /** The model the paper's numbers were measured on; other geometries get no paper number. */
    arch: z
      .enum(PAPER_ARCHS)
      .default('vit-b-16')
      .describe(
        "the architecture the paper's numbers were measured on: a model of another geometry (patch, size, layers) shows none",
      ),
    columns: z
      .array(columnSchema)
      .min(1)
      .describe("the table's columns: a dataset split (`demo/val`), or an object (below)"),
    rows: z.array(z.record(z.string(), z.unknown())).min(1).describe("the table's rows (below)"),
    baseline: z
      .string()
      .optional()
      .describe('a row key: every other row is compared with it item by item (a paired bootstrap), under the table'),
    average: z.boolean().default(true).describe('add a column averaging each row over the columns, as the paper does'),
    footnotes: z.array(z.string()).default([]).describe("footnotes of the table's own, printed before falip's"),
  })
  .strict();

export { baseRowSchema };

/** "refcoco/testA" → "refcoco testA". */
function defaultLabel(data: string): string {
  return data.replace('/', ' ');
}

/**
 * A column's key is its split for a task with one metric (`refcoco/testA`) and split:metric for a task
 * with several (`cub/all:top5`), so a config and `falip eval` name the same cell the same way.
 */
function columnOf(
  c: z.output<typeof columnSchema>,
  task: AnyTask,
  where: string,
  earlier: ReadonlySet<string>,
): ColumnConfig {
  const spec = typeof c === 'string' ? { data: c } : c;
  if (spec.mean || spec.harmonic_mean) return derivedColumnOf(spec, where, earlier);
  const data = spec.data ?? spec.key;
  if (!data || !DATA_KEY.test(data))
    throw new UserError(`${where}: data: expected dataset/split (or a key that is one)`);
  const classes = spec.classes === 'all' ? undefined : spec.classes;
  if (classes && !task.classSubsets)
    throw new UserError(`${where}.classes: ${task.name} columns take no class subsets (classification columns do)`);
  const metric = spec.metric ?? task.defaultMetric;
  const records = classes ? `${data}/${classes}` : data;
  const key = spec.key ?? (Object.keys(task.metrics).length > 1 ? `${records}:${metric}` : records);
  return { key, data, label: spec.label ?? defaultLabel(key), metric, ...(classes && { classes }) };
}

/** A column computed from earlier columns of its row: it reads no records, so it names no split or metric. */
function derivedColumnOf(
  spec: z.output<typeof columnObjectSchema>,
  where: string,
  earlier: ReadonlySet<string>,
): ColumnConfig {
  if (spec.mean && spec.harmonic_mean) throw new UserError(`${where}: give mean or harmonic_mean, not both`);
  const inputs = (spec.mean ?? spec.harmonic_mean)!;
  const field = spec.mean ? 'mean' : 'harmonic_mean';
  for (const extra of ['data', 'metric', 'classes'] as const)
    if (spec[extra] !== undefined)
      throw new UserError(`${where}.${extra}: a derived column (${field}) reads no records of its own`);
  if (!spec.key) throw new UserError(`${where}.key: a derived column (${field}) needs a key`);
  for (const k of inputs)
    if (!earlier.has(k)) throw new UserError(`${where}.${field}: '${k}' is not an earlier column's key`);
  return { key: spec.key, label: spec.label ?? spec.key, derive: field, of: inputs };
}

/** The row options a task reads, by name (from its schema, as the documentation lists them). */
function optionFields(task: AnyTask): Record<string, unknown> {
  const json = z.toJSONSchema(task.rowOptions, { io: 'input', unrepresentable: 'any' }) as { properties?: object };
  return { ...json.properties };
}

/**
 * Unknown keys first, each with the likeliest fix: a key a method reads belongs in its methods entry; a
 * near miss of a known key is named (`colums` → `columns`); otherwise the known keys are listed.
 */
function checkKeys(
  value: unknown,
  known: readonly string[],
  at: readonly PropertyKey[],
  where: (path: readonly PropertyKey[]) => string,
  hint?: (key: string) => string | undefined,
): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const fix =
      hint?.(key) ?? (closest(key, known) ? `did you mean "${closest(key, known)}"?` : `known: ${known.join(', ')}`);
    throw new UserError(
      `${where([...at, key])}: ${at.length > 0 ? fieldPath(at) : '(top level)'}: unknown key "${key}": ${fix}`,
    );
  }
}

/** A method parameter written on the row: where it goes instead. */
function rowKeyHint(raw: Record<string, unknown>): (key: string) => string | undefined {
  return (key) => {
    const param = key.replaceAll('-', '_');
    if (!allMethodParams().some(([name]) => name === param)) return undefined;
    const first = Array.isArray(raw.methods) ? raw.methods[0] : undefined;
    const method = typeof first === 'string' ? first : ((first as { name?: string } | undefined)?.name ?? 'falip');
    return `method parameters go in methods: [{ name: ${method}, ${param}: ${JSON.stringify(raw[key])} }]`;
  };
}

/**
 * Validates a parsed config. `where(path)` locates a field for messages (`file:line`); a config built
 * in code passes a constant.
 */
export function parseTableConfig(value: unknown, where: (path: readonly PropertyKey[]) => string): TableConfig {
  const fail = (error: z.ZodError, prefix: readonly PropertyKey[] = []): never => {
    const path = [...prefix, ...firstIssuePath(error)];
    throw new UserError(`${where(path)}: ${path.length > 0 ? fieldPath(path) : '(top level)'}: ${issueMessage(error)}`);
  };
  checkKeys(value, Object.keys(tableSchema.shape), [], where);
  const top = safeParseWith(tableSchema, value);
  if (!top.success) fail(top.error);
  const cfg = top.data!;
  const task = taskNamed(cfg.task, `${where(['task'])}: task`);
  const columnKeys = new Set<string>();
  const columns = cfg.columns.map((c, i) => {
    const col = columnOf(c, task, `${where(['columns', i])}: columns[${i}]`, columnKeys);
    if (isDataColumn(col) && !(col.metric in task.metrics))
      throw new UserError(
        `${where(['columns', i])}: columns[${i}].metric: '${col.metric}' is not a ${cfg.task} metric (${Object.keys(task.metrics).join(', ')})`,
      );
    if (columnKeys.has(col.key))
      throw new UserError(`${where(['columns', i])}: columns: duplicate column '${col.key}'`);
    columnKeys.add(col.key);
    return col;
  });
  const rowKeys = [...BASE_ROW_KEYS, ...Object.keys(optionFields(task))];
  const rows = cfg.rows.map((raw, i): RowConfig => {
    checkKeys(raw, rowKeys, ['rows', i], where, rowKeyHint(raw));
    const base = Object.fromEntries(Object.entries(raw).filter(([k]) => BASE_ROW_KEYS.has(k)));
    const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => !BASE_ROW_KEYS.has(k)));
    const parsed = safeParseWith(baseRowSchema, base);
    if (!parsed.success) fail(parsed.error, ['rows', i]);
    const options = safeParseWith(task.rowOptions, rest);
    if (!options.success) fail(options.error, ['rows', i]);
    const row = parsed.data!;
    if (!row.methods && !row.status)
      throw new UserError(`${where(['rows', i])}: rows[${i}]: a row needs methods (or status: not implemented)`);
    if (row.prompt_mask && !row.prompts)
      throw new UserError(`${where(['rows', i, 'prompt_mask'])}: rows[${i}].prompt_mask: the row names no prompts`);
    if (row.prompts && !task.learnedPrompts)
      throw new UserError(
        `${where(['rows', i, 'prompts'])}: rows[${i}].prompts: ${task.name} rows take no learned prompts (classification and point-cloud rows do)`,
      );
    row.methods?.forEach((m, j) => {
      checkMethodEntry(m.name, m.params, `${where(['rows', i, 'methods', j])}: rows[${i}].methods[${j}]`);
    });
    for (const col of Object.keys(row.paper)) {
      if (col !== 'avg' && !columnKeys.has(col))
        throw new UserError(`${where(['rows', i, 'paper', col])}: rows[${i}].paper: '${col}' is not a column`);
    }
    return { ...row, options: options.data };
  });
  const keys = new Set<string>();
  rows.forEach((r, i) => {
    if (keys.has(r.key)) throw new UserError(`${where(['rows', i, 'key'])}: rows[${i}].key: duplicate key '${r.key}'`);
    keys.add(r.key);
  });
  // A row over several prompt sets records each as `<key>@<set>`: those must be distinct from every row.
  const records = new Set(keys);
  rows.forEach((r, i) => {
    if (!Array.isArray(r.prompts)) return;
    for (const m of rowMembers(r)) {
      if (records.has(m.key))
        throw new UserError(
          `${where(['rows', i, 'prompts'])}: rows[${i}].prompts: ${m.prompts} twice, or its records' row ${m.key} is another row's key`,
        );
      records.add(m.key);
    }
  });
  if (cfg.baseline && !keys.has(cfg.baseline))
    throw new UserError(`${where(['baseline'])}: baseline: no row '${cfg.baseline}'`);
  return {
    name: cfg.name,
    title: cfg.title,
    task: cfg.task,
    arch: cfg.arch,
    columns,
    rows,
    ...(cfg.baseline !== undefined && { baseline: cfg.baseline }),
    average: cfg.average,
    footnotes: cfg.footnotes,
  };
}

export async function readTableConfig(file: string): Promise<TableConfig> {
  const yaml = await readYamlFile(file);
  return parseTableConfig(yaml.value, (path) => yaml.where(path));
}
