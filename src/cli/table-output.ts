import { renderTerminal } from '../report/render-markdown.js';
import type { RunTableResult } from '../experiments/run-table.js';

/** `falip table` and `falip merge` re-render without evaluating: no timing, nothing left to import. */
type PrintableResult = Omit<RunTableResult, 'timing' | 'notImported'> &
  Partial<Pick<RunTableResult, 'timing' | 'notImported'>>;

/** Prints a finished table: aligned text for people, the cells as JSON with `--json`. */
export function printTableResult(result: PrintableResult, json: boolean | undefined): void {
  // What the table could not run is said on stderr in both modes: a CI log shows it beside the JSON.
  for (const m of result.notImported ?? [])
    process.stderr.write(`falip: ${m.split} is not imported, its cells are empty: run \`${m.importCommand}\`\n`);
  if (json) {
    const rows = result.table.rows.map((r) => ({ key: r.key, label: r.label, cells: r.cells }));
    console.log(JSON.stringify({ dir: result.dir, resumed: result.resumed, title: result.table.title, rows }, null, 2));
    return;
  }
  // On a terminal the table fits its width; in a pipe or a log it keeps whole rows.
  console.log(renderTerminal(result.table, process.stdout.isTTY ? process.stdout.columns : undefined));
  console.log(`\nresults: ${result.dir}${result.resumed ? ' (resumed)' : ''}`);
  if (result.timing) {
    const t = result.timing;
    process.stderr.write(
      `evaluated in ${t.seconds.toFixed(1)} s; encoder busy ${(100 * t.encoderBusyShare).toFixed(0)}% of it (${t.batches} batches)\n`,
    );
  }
}

/** One run of a several-model or several-dataset `falip eval`. */
export interface EvalRun {
  model: string;
  dataset: string;
  result: RunTableResult;
}

/** "23.7 ±7.9", "not imported", for the summary's value column. */
function valueText(cell: RunTableResult['table']['rows'][number]['cells'][number]): string {
  if (!cell.ours) return cell.status ?? 'not run';
  const half = cell.ours.ci ? ` ±${((cell.ours.ci[1] - cell.ours.ci[0]) / 2).toFixed(1)}` : '';
  return `${cell.ours.value.toFixed(1)}${half}`;
}

/** Every run's cells in one table, a line per model, dataset, row and column (their own tables came first). */
export function printSummary(runs: readonly EvalRun[], json: boolean | undefined): void {
  if (json) {
    const out = runs.map(({ model, dataset, result }) => ({
      model,
      dataset,
      dir: result.dir,
      title: result.table.title,
      rows: result.table.rows.map((r) => ({ key: r.key, label: r.label, cells: r.cells })),
    }));
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  const lines = [['model', 'dataset', 'method', 'column', 'ours', 'results']];
  for (const { model, dataset, result } of runs)
    for (const row of result.table.rows)
      for (const [c, cell] of row.cells.entries())
        lines.push([model, dataset, row.label, result.table.columns[c]!.label, valueText(cell), result.dir]);
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  console.log(`\nSummary: ${runs.length} runs`);
  for (const l of lines)
    console.log(
      l
        .map((v, c) => v.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );
}
