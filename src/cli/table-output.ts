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
  console.log(renderTerminal(result.table));
  console.log(`\nresults: ${result.dir}${result.resumed ? ' (resumed)' : ''}`);
  if (result.timing) {
    const t = result.timing;
    process.stderr.write(
      `evaluated in ${t.seconds.toFixed(1)} s; encoder busy ${(100 * t.encoderBusyShare).toFixed(0)}% of it (${t.batches} batches)\n`,
    );
  }
}
