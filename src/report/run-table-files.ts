import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReportPlot, ReportTable } from './html-report-model.js';
import { type CellJson, METRICS_JSON, metricsJsonSchema, readRunFile } from './run-files.js';

/** The results table of a run folder from its metrics.json; null before any table was written. */
export async function readRunTable(dir: string): Promise<ReportTable | null> {
  const metrics = await readRunFile(path.join(dir, METRICS_JSON), metricsJsonSchema);
  if (metrics === null) return null;
  const empty: CellJson = { ours: null, paper: null, delta: null, status: 'not run', paired_vs_baseline: null };
  return {
    title: metrics.title,
    columns: metrics.columns,
    rows: metrics.rows.map((r) => ({
      key: r.row,
      label: r.label,
      cells: metrics.columns.map((c) => r.cells[c.key] ?? empty),
    })),
    footnotes: metrics.footnotes,
  };
}

/** The sweep plots of a run folder (`accuracy-vs-<axis>.png`, else its .svg), by name. */
export async function readRunPlots(dir: string): Promise<ReportPlot[]> {
  const names = await readdir(dir);
  const stems = [
    ...new Set(names.filter((n) => /^accuracy-vs-.+\.(png|svg)$/.test(n)).map((n) => n.replace(/\.(png|svg)$/, ''))),
  ].sort();
  return Promise.all(
    stems.map(async (stem) => {
      const png = names.includes(`${stem}.png`);
      const bytes = await readFile(path.join(dir, `${stem}.${png ? 'png' : 'svg'}`));
      return {
        title: stem.replaceAll('-', ' '),
        dataUri: `data:image/${png ? 'png' : 'svg+xml'};base64,${bytes.toString('base64')}`,
      };
    }),
  );
}
