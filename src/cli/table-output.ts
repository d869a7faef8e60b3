import { renderTerminal } from '../report/render-markdown.js';
import type { RunTableResult } from '../tasks/run-table.js';

/** Prints a finished table: aligned text for people, the cells as JSON with `--json`. */
export function printTableResult(result: RunTableResult, json: boolean | undefined): void {
  if (json) {
    const rows = result.table.rows.map((r) => ({ key: r.key, label: r.label, cells: r.cells }));
    console.log(JSON.stringify({ dir: result.dir, resumed: result.resumed, title: result.table.title, rows }, null, 2));
    return;
  }
  console.log(renderTerminal(result.table));
  console.log(`\nresults: ${result.dir}${result.resumed ? ' (resumed)' : ''}`);
}
