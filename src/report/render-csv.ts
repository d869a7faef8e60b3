import { writeToString } from 'fast-csv';
import type { ResultsTable } from './results-table.js';

const HEADERS = [
  'row',
  'column',
  'ours',
  'ci_lo',
  'ci_hi',
  'n',
  'paper',
  'delta',
  'status',
  'paired_diff',
  'paired_lo',
  'paired_hi',
] as const;

type CsvLine = Record<(typeof HEADERS)[number], string | number>;

/** Missing values are empty fields; numbers keep full precision (rounding is the Markdown's job). */
function field(value: number | string | null | undefined): string | number {
  return value ?? '';
}

/** One line per cell (row and column by key), for machines and spreadsheets; `sd` and `runs` when a row averages prompt sets. */
export function renderCsv(table: ResultsTable): Promise<string> {
  const spread = table.rows.some((r) => r.cells.some((c) => c.ours?.spread));
  const lines: (CsvLine & { sd?: string | number; runs?: string | number })[] = table.rows.flatMap((row) =>
    row.cells.map((cell) => ({
      row: row.key,
      column: cell.column,
      ours: field(cell.ours?.value),
      ci_lo: field(cell.ours?.ci?.[0]),
      ci_hi: field(cell.ours?.ci?.[1]),
      n: field(cell.ours?.n),
      paper: field(cell.paper),
      delta: field(cell.delta),
      status: field(cell.status),
      paired_diff: field(cell.paired?.diff),
      paired_lo: field(cell.paired?.ci[0]),
      paired_hi: field(cell.paired?.ci[1]),
      ...(spread && { sd: field(cell.ours?.spread?.sd), runs: field(cell.ours?.spread?.runs) }),
    })),
  );
  return writeToString(lines, {
    headers: [...HEADERS, ...(spread ? ['sd', 'runs'] : [])],
    includeEndRowDelimiter: true,
  });
}
