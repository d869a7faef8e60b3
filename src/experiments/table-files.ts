import path from 'node:path';
import type { TableConfig } from './table-config.js';
import type { AnyTask } from '../tasks/task-definition.js';
import { buildResultsTable, type CellStatus, type ResultsTable, type TableSpec } from '../report/results-table.js';
import type { EvalRecord } from '../report/records.js';
import { taskNamed } from '../tasks/registry.js';
import { renderCsv } from '../report/render-csv.js';
import { allFootnotes, renderMarkdown } from '../report/render-markdown.js';
import { METRICS_JSON, type MetricsJson } from '../report/run-files.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** The table a config describes, before any result: its paper numbers kept only on rows run as the paper ran them. */
export function tableSpecOf(
  cfg: TableConfig,
  task: AnyTask,
  footnotes: string[],
  withheld: ReadonlySet<string> = new Set(),
): TableSpec {
  return {
    title: cfg.title,
    columns: cfg.columns.map((c) => ({ key: c.key, label: c.label, data: c.data, metric: task.metrics[c.metric]! })),
    rows: cfg.rows.map((r) =>
      withheld.has(r.key)
        ? { key: r.key, label: r.label, paper: {}, paperWithheld: true }
        : { key: r.key, label: r.label, paper: r.paper },
    ),
    ...(cfg.baseline !== undefined && { baselineRow: cfg.baseline }),
    footnotes,
    average: cfg.average,
  };
}

/** Why cells without records are empty: rows falip cannot run, splits not imported. */
export function statusesOf(cfg: TableConfig, missing: readonly string[]): Record<string, Record<string, CellStatus>> {
  const statuses: Record<string, Record<string, CellStatus>> = {};
  for (const r of cfg.rows) {
    statuses[r.key] = {};
    for (const c of cfg.columns) {
      if (r.status) statuses[r.key]![c.key] = r.status;
      else if (missing.includes(c.data)) statuses[r.key]![c.key] = 'not imported';
    }
  }
  return statuses;
}

/** Writes metrics.json, table.csv and table.md of a results table into `dir`. */
export async function writeTableFiles(dir: string, table: ResultsTable, items: number): Promise<void> {
  const metrics: MetricsJson = {
    title: table.title,
    columns: table.columns.map((c) => ({ key: c.key, label: c.label })),
    rows: table.rows.map((row) => ({
      row: row.key,
      label: row.label,
      cells: Object.fromEntries(
        row.cells.map((c) => [
          c.column,
          { ours: c.ours, paper: c.paper, delta: c.delta, status: c.status, paired_vs_baseline: c.paired },
        ]),
      ),
    })),
    footnotes: allFootnotes(table),
    items,
  };
  await writeFileAtomic(path.join(dir, METRICS_JSON), `${JSON.stringify(metrics, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, 'table.csv'), await renderCsv(table));
  await writeFileAtomic(path.join(dir, 'table.md'), renderMarkdown(table));
}

/**
 * What a results folder needs to render its table from its records alone, kept in run.json: the same
 * in every shard of a run, so that `falip merge` renders exactly the table an unsharded run writes.
 */
export interface RenderDetails {
  config: TableConfig;
  footnotes: string[];
  /** Rows whose paper numbers do not apply to this run (another geometry). */
  withheld: string[];
  not_imported: string[];
  bootstrap_seed: number;
}

export function renderResults(d: RenderDetails, records: readonly EvalRecord[]): ResultsTable {
  const task = taskNamed(d.config.task);
  return buildResultsTable(tableSpecOf(d.config, task, d.footnotes, new Set(d.withheld)), records, {
    statuses: statusesOf(d.config, d.not_imported),
    seed: d.bootstrap_seed,
  });
}
