import path from 'node:path';
import { isDataColumn, recordsSplitOf, type RenderDetails } from './run-json.js';
import { rowMembers } from './row-prompts.js';
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
  o: { hidePaper?: boolean; partialSplits?: RenderDetails['partial_splits'] } = {},
): TableSpec {
  return {
    title: cfg.title,
    columns: cfg.columns.map((c) => {
      if (!isDataColumn(c)) return { key: c.key, label: c.label, derive: { kind: c.derive, of: c.of } };
      const data = recordsSplitOf(c);
      const size = o.partialSplits?.[data];
      return {
        key: c.key,
        label: c.label,
        data,
        metric: task.metrics[c.metric]!,
        ...(size && { ofPaper: { ...size, unit: task.sampleUnit, sameUnit: task.sampleUnit === task.recordUnit } }),
      };
    }),
    rows: cfg.rows.map((r) => {
      const members = rowMembers(r).map((m) => m.key);
      const row = { key: r.key, label: r.label, ...(members.length > 1 && { members }) };
      return o.hidePaper
        ? { ...row, paper: {} }
        : withheld.has(r.key)
          ? { ...row, paper: {}, paperWithheld: true }
          : { ...row, paper: r.paper };
    }),
    ...(cfg.baseline !== undefined && { baselineRow: cfg.baseline }),
    footnotes,
    average: cfg.average,
  };
}

/**
 * Why cells without records are empty: rows falip cannot run, splits not imported, and rows whose
 * prompt set for a dataset is not registered (`missingPrompts`: row key → datasets).
 */
export function statusesOf(
  cfg: TableConfig,
  missing: readonly string[],
  missingPrompts: Readonly<Record<string, readonly string[]>> = {},
): Record<string, Record<string, CellStatus>> {
  const statuses: Record<string, Record<string, CellStatus>> = {};
  for (const r of cfg.rows) {
    statuses[r.key] = {};
    for (const c of cfg.columns) {
      if (r.status) statuses[r.key]![c.key] = r.status;
      else if (!isDataColumn(c)) continue;
      else if (missing.includes(c.data) || missingPrompts[r.key]?.includes(c.data.split('/')[0]!))
        statuses[r.key]![c.key] = 'not imported';
    }
  }
  return statuses;
}

/** Writes metrics.json, table.csv and table.md of a results table into `dir`. */
export async function writeTableFiles(dir: string, table: ResultsTable, items: number): Promise<void> {
  const metrics: MetricsJson = {
    title: table.title,
    columns: table.columns.map((c) => ({
      key: c.key,
      label: c.label,
      ...(c.ofPaper && {
        subset: `${c.ofPaper.evaluated.toLocaleString('en-US')} of ${c.ofPaper.paper.toLocaleString('en-US')} ${c.ofPaper.unit}`,
      }),
    })),
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

export function renderResults(d: RenderDetails, records: readonly EvalRecord[]): ResultsTable {
  const task = taskNamed(d.config.task);
  const spec = tableSpecOf(d.config, task, d.footnotes, new Set(d.withheld), {
    hidePaper: d.hide_paper,
    partialSplits: d.partial_splits,
  });
  return buildResultsTable(spec, records, {
    statuses: statusesOf(d.config, d.not_imported, d.missing_prompts),
    seed: d.bootstrap_seed,
  });
}
