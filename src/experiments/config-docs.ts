import path from 'node:path';
import { z } from 'zod';
import { METHOD_DEFINITIONS } from '../prompts/registry.js';
import { TASKS } from '../tasks/registry.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import { readTextFile } from '../util/text-file.js';
import { baseRowSchema, columnObjectSchema, tableSchema } from './table-config.js';

/**
 * docs/configs.md, generated from the schemas a config is read with (table-config.ts, each task's row
 * options, each method's parameter table), so the documentation says what the parser accepts.
 * `npm run docs` writes it; a test checks that the committed file is current.
 */

export const CONFIG_DOCS_FILE = path.join(REPO_ROOT, 'docs', 'configs.md');
export const WORKED_EXAMPLE = path.join(REPO_ROOT, 'configs', 'demo.yaml');

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** A JSON-schema type as a reader writes it in YAML: `gold | prop`, `number`, `list of 6 numbers`. */
function typeText(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' | ');
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  if (s.anyOf) return s.anyOf.map(typeText).join(', or ');
  if (s.type === 'array') {
    const n = s.minItems !== undefined && s.minItems === s.maxItems ? `${s.minItems} ` : '';
    return `list of ${n}${s.items ? typeText(s.items) : 'values'}`;
  }
  if (s.type === 'object') return `object (${Object.keys(s.properties ?? {}).join(', ')})`;
  if (s.type === 'integer') return 'integer';
  return s.type ?? 'any';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** One Markdown table of an object schema's fields: name, type, default (or "required"), meaning. */
function fieldTable(schema: z.ZodType, overrides: Record<string, string> = {}): string[] {
  const json = jsonSchemaOf(schema);
  const required = new Set(json.required ?? []);
  const lines = ['| field | type | default | meaning |', '| --- | --- | --- | --- |'];
  for (const [name, field] of Object.entries(json.properties ?? {})) {
    const fallback =
      field.default !== undefined ? `\`${JSON.stringify(field.default)}\`` : required.has(name) ? 'required' : '—';
    lines.push(
      `| \`${name}\` | ${cell(overrides[name] ?? typeText(field))} | ${cell(fallback)} | ${cell(field.description ?? '')} |`,
    );
  }
  return lines;
}

function taskSection(): string[] {
  return TASKS.flatMap((t) => [
    `### \`task: ${t.name}\` (${t.title})`,
    '',
    `Datasets: ${Object.entries(t.datasets)
      .map(([name, d]) => `\`${name}\` (${d.splits.map((s) => `${name}/${s}`).join(', ')})`)
      .join(', ')}. Metrics (a column's \`metric\`): ${Object.entries(t.metrics)
      .map(([name, m]) => `\`${name}\` (${m.label})`)
      .join(', ')}; default \`${t.defaultMetric}\`.`,
    '',
    ...(Object.keys(jsonSchemaOf(t.rowOptions).properties ?? {}).length > 0
      ? ['Row options (keys of a row beside the common ones):', '', ...fieldTable(t.rowOptions)]
      : ['This task has no row options.']),
    '',
  ]);
}

function methodSection(): string[] {
  return METHOD_DEFINITIONS.flatMap((m) => {
    const params = Object.entries(m.params);
    return [
      `- \`${m.name}\`: ${m.summary}${m.needs ? ` (compose with a prompt that sets the ${m.needs.join(', ')})` : ''}.` +
        (params.length > 0
          ? ` Parameters: ${params.map(([name, spec]) => `\`${name}\` (${spec.help})`).join('; ')}.`
          : ''),
    ];
  });
}

/** The whole of docs/configs.md. */
export async function configDocs(): Promise<string> {
  const example = (await readTextFile(WORKED_EXAMPLE)).trimEnd();
  return `${[
    '# Table configs',
    '',
    '<!-- Generated from the config schema by `npm run docs` (src/experiments/config-docs.ts); a test checks it is current. -->',
    '',
    'A table config is a YAML file that `falip run CONFIG` evaluates and `falip table CONFIG --from DIR...` re-renders:',
    'its columns are dataset splits (each with a metric), its rows are visual prompts (methods) with their parameters',
    "and the task's options, and it may carry the paper's numbers beside ours. `configs/` holds one per paper table.",
    '',
    '## A worked example',
    '',
    '`configs/demo.yaml` runs on the demo set that falip generates, so `npx falip run configs/demo.yaml` works on a fresh',
    'clone:',
    '',
    '```yaml',
    example,
    '```',
    '',
    '- `columns: [demo/val]` is one column: the `val` split of the `demo` dataset, REC accuracy.',
    '- Each row runs its `methods` on every column. `falip` alone takes its defaults (α 0.2, σ 100, layers 9-12 of',
    "  ViT-B/16: the paper's); `{ name: falip, alpha: 1 }` changes one parameter; `blur+falip` composes two prompts",
    '  (the blurred image with the foveal mask); a row with two methods sums their scores (an ensemble, "E").',
    "- `subtract: true` is one of REC's row options (below): the row subtracts the mean logit of negative captions.",
    '- `baseline: plain` adds a paired comparison of every row with the `plain` row under the table.',
    '- Results go to `results/demo-<run key hash>/` (`run.json`, `records.jsonl`, `metrics.json`, `table.csv`,',
    '  `table.md`); running it again resumes.',
    '',
    '## Top-level fields',
    '',
    ...fieldTable(tableSchema, { rows: 'list of rows (below)' }),
    '',
    '## Columns',
    '',
    'A column is a string `dataset/split`, or an object:',
    '',
    ...fieldTable(columnObjectSchema),
    '',
    '## Rows',
    '',
    "Every row has these fields, and the row options of its table's task (next section):",
    '',
    ...fieldTable(baseRowSchema, { methods: 'list of methods', paper: 'map of column key to number or null' }),
    '',
    "A method's parameters go with its name: `methods: [{ name: falip, alpha: 2 }]`, not on the row.",
    '',
    '## Tasks',
    '',
    ...taskSection(),
    '## Methods',
    '',
    '`falip methods` lists the same with the flags `falip eval` takes. A parameter set in a config applies to the method',
    'it is written with; a composition `a+b` takes the parameters of both.',
    '',
    ...methodSection(),
    '',
    '## Mistakes',
    '',
    'A config that does not fit is one line naming the file, its line and the field, and exit code 2, e.g.',
    '`configs/mine.yaml:14: rows[0]: unknown key "alpha": method parameters go in methods: [{ name: falip, alpha: 2 }]`.',
  ].join('\n')}\n`;
}
