import type { PairedComparison } from './metrics.js';
import type { ResultCell, ResultsTable } from './results-table.js';

/** One decimal, as the paper prints accuracies. */
export function fixed1(x: number): string {
  return x.toFixed(1);
}

/** One decimal with its sign always shown; `minus` replaces the ASCII '-' (HTML shows U+2212 '−'). */
export function signed1(x: number, minus = '-'): string {
  const text = x.toFixed(1);
  return text.startsWith('-') ? `${minus}${text.slice(1)}` : `+${text}`;
}

/**
 * The cell count goes into the column header when every row measured the same number of items
 * (the usual case) and into each cell otherwise, e.g. after `--limit` runs of different sizes.
 */
function sharedCounts(table: ResultsTable): Map<string, number | null> {
  const counts = new Map<string, number | null>();
  table.columns.forEach((column, c) => {
    const ns = new Set(table.rows.flatMap((row) => (row.cells[c]!.ours ? [row.cells[c]!.ours.n] : [])));
    counts.set(column.key, ns.size === 1 ? [...ns][0]! : null);
  });
  return counts;
}

/** "44.2 ±1.3 (paper 44.2, Δ +0.0)", "not imported (paper 40.1)"; ± is half the interval width. */
function cellText(cell: ResultCell, showN: boolean, emphasizeStatus: (s: string) => string): string {
  const paper =
    cell.paper === null
      ? ''
      : cell.delta === null
        ? ` (paper ${fixed1(cell.paper)})`
        : ` (paper ${fixed1(cell.paper)}, Δ ${signed1(cell.delta)})`;
  if (!cell.ours) return emphasizeStatus(cell.status ?? 'not run') + paper;
  const { value, ci, n, spread } = cell.ours;
  const interval = ci ? ` ±${fixed1((ci[1] - ci[0]) / 2)}` : '';
  const sd = spread
    ? ` sd ${fixed1(spread.sd)}${spread.runs < spread.of ? ` (${spread.runs} of ${spread.of})` : ''}`
    : '';
  // A partial number says so in the cell itself, not only in a footnote.
  const partial = cell.status ? ` ${emphasizeStatus(cell.status)}` : '';
  return `${fixed1(value)}${interval}${sd}${showN ? ` n=${n}` : ''}${partial}${paper}`;
}

function pairedText(paired: PairedComparison | null, showN: boolean): string {
  if (!paired) return '–';
  return `${signed1(paired.diff)} [${signed1(paired.ci[0])}, ${signed1(paired.ci[1])}]${showN ? ` n=${paired.n}` : ''}`;
}

function intervalNote(table: ResultsTable): string {
  const { level, iterations, seed } = table.bootstrap;
  const withPaper = table.rows.some((r) => r.cells.some((c) => c.paper !== null));
  return (
    `± is half the width of the ${Math.round(level * 100)}% percentile bootstrap interval over items ` +
    `(${iterations} resamples, seed ${seed}); exact bounds are in table.csv.${withPaper ? ' Δ = ours − paper.' : ''}`
  );
}

/** A grid of plain strings: header, then one line per table row; the first column names the method. */
interface TextGrid {
  header: string[];
  body: string[][];
}

const thousands = (n: number): string => n.toLocaleString('en-US');

/**
 * A column's header: its label, the items every row measured ("n=114"), and when the split holds part
 * of the paper's, how much ("n=12 of 2,468"; REC counts sentences but the paper refs: "n=114; 57 of 1,975 refs").
 */
export function columnHeader(column: ResultsTable['columns'][number], n: number | null): string {
  const p = column.ofPaper;
  const part = p ? `${thousands(p.evaluated)} of ${thousands(p.paper)} ${p.unit}` : '';
  if (n === null) return p ? `${column.label} (${part})` : column.label;
  if (!p) return `${column.label} (n=${n})`;
  return p.sameUnit ? `${column.label} (n=${n} of ${thousands(p.paper)})` : `${column.label} (n=${n}; ${part})`;
}

function mainGrid(table: ResultsTable, emphasizeStatus: (s: string) => string): TextGrid {
  const counts = sharedCounts(table);
  return {
    header: ['Method', ...table.columns.map((c) => columnHeader(c, counts.get(c.key) ?? null))],
    body: table.rows.map((row) => [
      // Said once on the row, not in each of its cells (base-to-new has 48 columns); the footnote says why.
      row.paperWithheld ? `${row.label} (custom: paper n/a)` : row.label,
      ...row.cells.map((cell) => cellText(cell, counts.get(cell.column) === null, emphasizeStatus)),
    ]),
  };
}

/** Rows other than the baseline, over the columns that can hold a paired comparison. */
function pairedGrid(table: ResultsTable): TextGrid | null {
  if (!table.baseline) return null;
  const baselineKey = table.baseline.key;
  const columnIndexes = table.columns.flatMap((_, c) => (table.rows.some((row) => row.cells[c]!.paired) ? [c] : []));
  if (columnIndexes.length === 0) return null;
  const rows = table.rows.filter((row) => row.key !== baselineKey);
  return {
    header: ['Method', ...columnIndexes.map((c) => table.columns[c]!.label)],
    body: rows.map((row) => [row.label, ...columnIndexes.map((c) => pairedText(row.cells[c]!.paired, true))]),
  };
}

function pairedHeading(table: ResultsTable): string {
  return `Paired difference vs ${table.baseline!.label} (percentage points on the items both evaluated, ${Math.round(table.bootstrap.level * 100)}% interval)`;
}

function markdownGrid(grid: TextGrid): string[] {
  const escapePipes = (text: string): string => text.replaceAll('|', '\\|');
  const line = (cells: string[]): string => `| ${cells.map(escapePipes).join(' | ')} |`;
  return [line(grid.header), line(grid.header.map((_, i) => (i === 0 ? '---' : '---:'))), ...grid.body.map(line)];
}

/** Every footnote a rendering of the table prints, in order: the table's own, then how ± (and sd) is computed. */
export function allFootnotes(table: ResultsTable): string[] {
  const spread = table.rows.some((r) => r.cells.some((c) => c.ours?.spread));
  return [
    ...table.footnotes,
    intervalNote(table),
    ...(spread
      ? [
          'A row over several prompt sets (e.g. seeds) shows in each cell the mean of the sets\' numbers and, after sd, their standard deviation across sets (n − 1; "2 of 3" when a set has no number there); its derived columns (H, averages) combine those means, as the papers do. Such cells have no bootstrap interval and no paired comparison.',
        ]
      : []),
  ];
}

/** GitHub Markdown: the results table, numbered footnotes, then the paired comparisons. */
export function renderMarkdown(table: ResultsTable): string {
  const out = [`### ${table.title}`, '', ...markdownGrid(mainGrid(table, (s) => `*${s}*`)), ''];
  allFootnotes(table).forEach((note, i) => {
    out.push(`${i + 1}. ${note}`);
  });
  const paired = pairedGrid(table);
  if (paired) out.push('', `#### ${pairedHeading(table)}`, '', ...markdownGrid(paired));
  return `${out.join('\n')}\n`;
}

/**
 * A grid wider than `width` is cut into column groups printed one under another, each with the method
 * column again (a table of 9 splits stays readable in an 80-column terminal); a group always holds at
 * least one column, however narrow the terminal.
 */
function wrappedGrid(grid: TextGrid, width: number): string[] {
  const widthOf = (c: number) => Math.max(...[grid.header, ...grid.body].map((cells) => cells[c]!.length));
  const first = widthOf(0);
  const groups: number[][] = [];
  let used = Number.POSITIVE_INFINITY;
  for (let c = 1; c < grid.header.length; c++) {
    const w = widthOf(c) + 2;
    if (used + w > width || groups.length === 0) {
      groups.push([c]);
      used = first + w;
    } else {
      groups.at(-1)!.push(c);
      used += w;
    }
  }
  if (groups.length <= 1) return alignedGrid(grid);
  const pick = (cells: string[], cols: number[]) => [cells[0]!, ...cols.map((c) => cells[c]!)];
  return groups.flatMap((cols, g) => [
    ...(g > 0 ? [''] : []),
    ...alignedGrid({ header: pick(grid.header, cols), body: grid.body.map((row) => pick(row, cols)) }),
  ]);
}

function alignedGrid(grid: TextGrid): string[] {
  const all = [grid.header, ...grid.body];
  const widths = grid.header.map((_, c) => Math.max(...all.map((cells) => cells[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(grid.header), widths.map((w) => '-'.repeat(w)).join('  '), ...grid.body.map(line)];
}

/** Plain aligned text for the console, with the same content as the Markdown. */
export function renderTerminal(table: ResultsTable, width = Number.POSITIVE_INFINITY): string {
  const out = [
    table.title,
    '',
    ...wrappedGrid(
      mainGrid(table, (s) => s),
      width,
    ),
  ];
  const paired = pairedGrid(table);
  if (paired) out.push('', pairedHeading(table), ...wrappedGrid(paired, width));
  out.push('');
  allFootnotes(table).forEach((note, i) => {
    out.push(`[${i + 1}] ${note}`);
  });
  return `${out.join('\n')}\n`;
}
