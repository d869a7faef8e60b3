import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.js';

/**
 * A paper table as a YAML config (configs/*.yaml): columns are dataset splits, rows are methods
 * with their parameters and the paper's numbers. `falip run` evaluates it, `falip table` re-renders it.
 */

const methodEntry = z.union([
  z.string(),
  z
    .object({
      name: z.string(),
      alpha: z.number().optional(),
      sigma: z.number().positive().optional(),
      layers: z.union([z.string(), z.number()]).optional(),
      form: z.enum(['a', 'b', 'c']).optional(),
      heads: z.union([z.string(), z.number()]).optional(),
      circle_thickness: z.number().int().positive().optional(),
      blur_sigma: z.number().positive().optional(),
      /** Feature mask: where token features are multiplied. */
      site: z.enum(['residual', 'attn-input']).optional(),
      /** Unleash: w in G' → G + w(G' − G). */
      head_weight: z.number().optional(),
      /** PASTA: factor on the attention to keys outside the box. */
      coefficient: z.number().positive().optional(),
    })
    .strict(),
]);
export type MethodEntry = z.infer<typeof methodEntry>;

const subtractEntry = z.union([
  z.boolean(),
  z
    .object({
      count: z.number().int().positive().default(500),
      from: z.enum(['split', 'other-images']).default('split'),
      seed: z.number().int().nonnegative().default(0),
    })
    .strict(),
]);

const rowSchema = z
  .object({
    key: z.string().regex(/^[A-Za-z0-9._+-]+$/, 'letters, digits and . _ + - only'),
    label: z.string(),
    setting: z.enum(['gold', 'prop']).default('gold'),
    methods: z.array(methodEntry).min(1).optional(),
    subtract: subtractEntry.default(false),
    /** Rows falip cannot compute yet stay in the table with this status. */
    status: z.literal('not implemented').optional(),
    paper: z.record(z.string(), z.number().nullable()).default({}),
  })
  .strict()
  .refine((r) => r.methods !== undefined || r.status !== undefined, { message: 'a row needs methods (or status: not implemented)' });
export type TableRowConfig = z.output<typeof rowSchema>;

const columnSchema = z.union([
  z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected dataset/split'),
  z.object({ key: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected dataset/split'), label: z.string() }).strict(),
]);

const tableSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._+-]+$/),
    title: z.string(),
    task: z.literal('rec'),
    columns: z.array(columnSchema).min(1),
    rows: z.array(rowSchema).min(1),
    baseline: z.string().optional(),
    average: z.boolean().default(true),
    footnotes: z.array(z.string()).default([]),
  })
  .strict();
export type TableConfig = z.output<typeof tableSchema>;

export function columnKey(c: TableConfig['columns'][number]): string {
  return typeof c === 'string' ? c : c.key;
}

export function columnLabel(c: TableConfig['columns'][number]): string {
  const key = columnKey(c);
  return typeof c === 'string' ? key.replace('/', ' ') : c.label;
}

export function parseTableConfig(value: unknown, file: string): TableConfig {
  const parsed = tableSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const cfg = parsed.data;
  const keys = new Set<string>();
  for (const r of cfg.rows) {
    if (keys.has(r.key)) throw new UserError(`${file}: rows: duplicate key '${r.key}'`);
    keys.add(r.key);
  }
  if (cfg.baseline && !keys.has(cfg.baseline)) throw new UserError(`${file}: baseline: no row '${cfg.baseline}'`);
  return cfg;
}

export async function readTableConfig(file: string): Promise<TableConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError(`${file}: not found`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new UserError(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  return parseTableConfig(value, file);
}
