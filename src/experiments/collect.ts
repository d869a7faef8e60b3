import path from 'node:path';
import { writeToString } from 'fast-csv';
import { allMethodParams } from '../prompts/registry.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { RunSummary } from './run-index.js';
import { isDataColumn, recordsSplitOf } from './run-json.js';

/**
 * `falip collect`: every cell of every run as one line of a long table (CLIP_benchmark's `build`): the run and
 * its key, the model, the row's methods with each parameter in a column of its own, the dataset split, the
 * metric, our number with n and its interval. Nothing is pooled or refused: each line carries its run's key.
 */

export interface CollectedLine {
  run: string;
  run_key: string;
  complete: boolean;
  model: string;
  model_sha256: string;
  precision: string;
  task: string;
  row: string;
  label: string;
  methods: string;
  /** Each method parameter by name; an ensemble's differing values joined by '|'. */
  params: Record<string, string>;
  /** The task's row options by name (REC: setting, subtract). */
  options: Record<string, string>;
  dataset: string;
  split: string;
  metric: string;
  value: number | null;
  n: number | null;
  ci_lo: number | null;
  ci_hi: number | null;
  paper: number | null;
  status: string | null;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : canonicalJson(value);
}

const PARAMS = new Map(allMethodParams());

/** A resolved parameter as footnotes show it (layers 1-based, "9-12"), so the CSV reads as the flags do. */
function paramText(name: string, value: unknown): string {
  const spec = PARAMS.get(name);
  return spec ? spec.show(value) : text(value);
}

export function collectLines(runs: readonly RunSummary[]): CollectedLine[] {
  return runs.flatMap(({ dir, run, metrics, complete }) => {
    if (!metrics) return [];
    const columns = new Map(run.details.render.config.columns.map((c) => [c.key, c]));
    const rowKeys = new Map(run.key.rows.map((r) => [r.key, r]));
    return metrics.rows.flatMap((row) => {
      const ran = rowKeys.get(row.row);
      const params: Record<string, string> = {};
      for (const m of ran?.methods ?? [])
        for (const [k, v] of Object.entries(m.params)) {
          const value = paramText(k, v);
          params[k] = params[k] === undefined || params[k] === value ? value : `${params[k]}|${value}`;
        }
      const options = Object.fromEntries(
        Object.entries((ran?.options ?? {}) as Record<string, unknown>).map(([k, v]) => [k, text(v)]),
      );
      return Object.entries(row.cells).flatMap(([key, cell]): CollectedLine[] => {
        const column = columns.get(key);
        // The average and derived columns come from the others; a table builds them again from these lines.
        if (!column || !isDataColumn(column)) return [];
        // A base-to-new half is part of the split: `test/base`.
        const [dataset, ...split] = recordsSplitOf(column).split('/') as [string, ...string[]];
        return [
          {
            run: path.basename(dir),
            run_key: run.config_hash,
            complete,
            model: run.details.model.name,
            model_sha256: run.key.model.sha256,
            precision: run.key.model.precision,
            task: run.key.task,
            row: row.row,
            label: row.label,
            methods: (ran?.methods ?? []).map((m) => m.name).join(' + '),
            params,
            options,
            dataset,
            split: split.join('/'),
            metric: column.metric,
            value: cell.ours?.value ?? null,
            n: cell.ours?.n ?? null,
            ci_lo: cell.ours?.ci?.[0] ?? null,
            ci_hi: cell.ours?.ci?.[1] ?? null,
            paper: cell.paper,
            status: cell.status,
          },
        ];
      });
    });
  });
}

/** The lines as CSV: fixed columns, then one column per parameter and per row option seen in any run. */
export function collectCsv(lines: readonly CollectedLine[]): Promise<string> {
  const paramNames = [...new Set(lines.flatMap((l) => Object.keys(l.params)))].sort();
  const optionNames = [...new Set(lines.flatMap((l) => Object.keys(l.options)))].sort();
  const headers = [
    'run',
    'run_key',
    'complete',
    'model',
    'model_sha256',
    'precision',
    'task',
    'row',
    'label',
    'methods',
    ...paramNames,
    ...optionNames,
    'dataset',
    'split',
    'metric',
    'value',
    'n',
    'ci_lo',
    'ci_hi',
    'paper',
    'status',
  ];
  const rows = lines.map((l) => {
    const { params, options, ...rest } = l;
    const flat: Record<string, unknown> = { ...rest, ...params, ...options };
    return headers.map((h) => (flat[h] === null || flat[h] === undefined ? '' : String(flat[h])));
  });
  return writeToString([headers, ...rows]).then((csv) => `${csv}\n`);
}
