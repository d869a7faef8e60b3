import type { BootstrapOptions } from './bootstrap.js';
import { ACCURACY, cellMetrics, pairedComparison, type Metric, type PairedComparison } from './metrics.js';
import type { EvalRecord } from './records.js';

/**
 * Why a cell has no number of ours, or (`partial (16 of 60)`) that ours covers only part of its items:
 * a run that did not finish, rendered by `falip table --from`.
 */
export type CellStatus = 'not run' | 'not imported' | 'not implemented' | `partial (${number} of ${number | '?'})`;

/** How far an unfinished run got in one cell: records found, items the run has. */
export interface PartialCell {
  n: number;
  /** Unknown for runs of older falip versions, which did not record their items. */
  of: number | null;
}

export interface TableColumnSpec {
  /** Unique in the table; the paper's numbers are keyed by it. */
  key: string;
  label: string;
  /** The records' `column` this cell reads (default `key`): several metrics of one split read the same records. */
  data?: string;
  /** Default: accuracy. */
  metric?: Metric;
  /** A column computed from other columns of the row (named by key, earlier in the table), not from records. */
  derive?: { kind: Derivation; of: readonly string[] };
  /**
   * The split holds part of the paper's: `evaluated` of its `paper` samples (in `unit`, REC refs); when the
   * unit is also what a record is (`sameUnit`), the header reads "n=12 of 2,468".
   */
  ofPaper?: { evaluated: number; paper: number; unit: string; sameUnit: boolean };
}

export interface TableRowSpec {
  /** Matches `EvalRecord.row`. */
  key: string;
  label: string;
  /** The paper's number per column key (percent); null where the paper has none. May include `avg`. */
  paper?: Record<string, number | null>;
  /** The paper has this row, but it was run differently (another model or parameters): no number shown. */
  paperWithheld?: boolean;
  /**
   * The records' rows this row stands for (default: its key): with several (one per prompt set, e.g.
   * seeds), each cell is the mean of their values, with their standard deviation.
   */
  members?: readonly string[];
}

/** What one paper table looks like, before any result is known. */
export interface TableSpec {
  title: string;
  columns: TableColumnSpec[];
  rows: TableRowSpec[];
  /** Row key that the other rows are compared with, item by item. */
  baselineRow?: string;
  footnotes: string[];
  /** Add an average column, as the paper's tables do. */
  average?: boolean;
}

/** Our measurement in one cell; the average column has no interval. */
export interface OurNumber {
  /** The column's metric, percent. */
  value: number;
  n: number;
  ci: [number, number] | null;
  /** A row of several members: `value` is their mean, `sd` their standard deviation (n − 1), over `runs` of `of`. */
  spread?: { sd: number; runs: number; of: number };
}

export interface ResultCell {
  column: string;
  ours: OurNumber | null;
  /**
   * Set when `ours` is null (for the average: when some column lacks ours), and beside `ours` when it
   * is partial; null for a whole number.
   */
  status: CellStatus | null;
  paper: number | null;
  /** ours − paper, percentage points. */
  delta: number | null;
  /** Against the baseline row; null for the baseline itself, the average, or without shared items. */
  paired: PairedComparison | null;
}

export interface ResultRow {
  key: string;
  label: string;
  /** The paper's numbers are not comparable with ours for this row (see the footnotes). */
  paperWithheld: boolean;
  cells: ResultCell[];
}

export interface ResultsTable {
  title: string;
  /** The spec's columns, plus the average column when asked for. */
  columns: TableColumnSpec[];
  rows: ResultRow[];
  baseline: { key: string; label: string } | null;
  footnotes: string[];
  /** How the intervals were computed, for the footnote that explains them. */
  bootstrap: Required<BootstrapOptions>;
}

export interface BuildTableOptions extends BootstrapOptions {
  /** Why a cell without records is empty, by row key then column key; unlisted empty cells are 'not run'. */
  statuses?: Record<string, Record<string, CellStatus>>;
  /**
   * Cells whose records are only part of their items, by row key then the column's data (an unfinished
   * run): ours is shown with the cell marked `partial (n of m)`, and no Δ (a partial number is not
   * comparable with the paper's).
   */
  partial?: Record<string, Record<string, PartialCell>>;
}

export const AVERAGE_COLUMN: TableColumnSpec = { key: 'avg', label: 'Avg' };

/** How a derived column combines its columns: their mean, or their harmonic mean (base-to-new's H = 2BN/(B+N)). */
export const DERIVATIONS = ['mean', 'harmonic_mean'] as const;
export type Derivation = (typeof DERIVATIONS)[number];

export function derive(kind: Derivation, values: readonly number[]): number {
  if (kind === 'mean') return values.reduce((s, v) => s + v, 0) / values.length;
  // A zero makes the harmonic mean 0 (its limit), not a division by zero.
  if (values.some((v) => v === 0)) return 0;
  return values.length / values.reduce((s, v) => s + 1 / v, 0);
}

/** The sample standard deviation (n − 1); 0 for one value. */
function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
}

function averageOf(values: readonly (number | null)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((s, v) => s + v, 0) / values.length;
}

/** ours − paper, without binary noise in the last digits (100 − 83.6 is 16.400000000000006 in floats). */
function difference(ours: number, paper: number): number {
  return Number((ours - paper).toFixed(10));
}

/** Mean of the row's column values (not pooled over items, matching how the paper averages). */
function averageCell(row: TableRowSpec, cells: readonly ResultCell[]): ResultCell {
  // A partial cell makes the average partial too, which is no number to show.
  const partial = cells.find((c) => c.ours && c.status !== null);
  const value = partial ? null : averageOf(cells.map((c) => c.ours?.value ?? null));
  const paper = row.paper?.[AVERAGE_COLUMN.key] ?? averageOf(cells.map((c) => c.paper));
  const ours = value === null ? null : { value, n: cells.reduce((s, c) => s + c.ours!.n, 0), ci: null };
  return {
    column: AVERAGE_COLUMN.key,
    ours,
    // The average is missing for the same reason as the first column that is missing.
    status:
      ours === null
        ? (cells.find((c) => c.ours === null && c.status !== null)?.status ?? partial?.status ?? 'not run')
        : null,
    paper,
    delta: ours !== null && paper !== null ? difference(ours.value, paper) : null,
    paired: null,
  };
}

/**
 * A derived column's cell from the row's cells it names: ours when every one has ours, the paper's when
 * the row gives it or every one has the paper's. No interval: the inputs' intervals do not combine so.
 */
function derivedCell(
  column: string,
  d: NonNullable<TableColumnSpec['derive']>,
  givenPaper: number | null,
  byKey: ReadonlyMap<string, ResultCell>,
): ResultCell {
  const inputs = d.of.map((k) => {
    const c = byKey.get(k);
    if (!c) throw new Error(`derived column ${column}: no earlier column ${k}`);
    return c;
  });
  const values = inputs.map((c) => c.ours?.value ?? null);
  const ours = values.every((v) => v !== null)
    ? { value: derive(d.kind, values as number[]), n: inputs.reduce((s, c) => s + c.ours!.n, 0), ci: null }
    : null;
  const papers = inputs.map((c) => c.paper);
  const paper = givenPaper ?? (papers.every((p) => p !== null) ? derive(d.kind, papers as number[]) : null);
  return {
    column,
    ours,
    status: ours === null ? (inputs.find((c) => c.status !== null)?.status ?? 'not run') : null,
    paper,
    delta: ours !== null && paper !== null ? difference(ours.value, paper) : null,
    paired: null,
  };
}

/**
 * A cell of a row of several members (prompt sets, e.g. seeds): the mean of the members' values and
 * their standard deviation, over the members that have records here. No interval and no paired
 * comparison: the spread across members is the uncertainty such a row reports.
 */
function membersCell(
  column: TableColumnSpec,
  members: readonly string[],
  paper: number | null,
  status: () => CellStatus,
  recordsOf: (row: string, column: string) => EvalRecord[],
  bootstrap: Required<BootstrapOptions>,
): ResultCell {
  const data = column.data ?? column.key;
  const measured = members
    .map((m) => recordsOf(m, data))
    .filter((rs) => rs.length > 0)
    .map((rs) => cellMetrics(rs, column.metric ?? ACCURACY, { ...bootstrap, iterations: 1 }));
  if (measured.length === 0)
    return { column: column.key, ours: null, status: status(), paper, delta: null, paired: null };
  const values = measured.map((m) => m.value);
  const value = derive('mean', values);
  return {
    column: column.key,
    ours: {
      value,
      n: Math.max(...measured.map((m) => m.n)),
      ci: null,
      spread: { sd: sampleSd(values), runs: measured.length, of: members.length },
    },
    status: null,
    paper,
    delta: paper === null ? null : difference(value, paper),
    paired: null,
  };
}

/** Groups records by row and column once, instead of filtering the whole list per cell. */
function groupByCell(records: readonly EvalRecord[]): Map<string, EvalRecord[]> {
  const groups = new Map<string, EvalRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([r.row, r.split]);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return groups;
}

/** Fills a paper-style table with our numbers, the paper's, their difference, and paired comparisons. */
export function buildResultsTable(
  spec: TableSpec,
  records: readonly EvalRecord[],
  opts: BuildTableOptions = {},
): ResultsTable {
  const bootstrap: Required<BootstrapOptions> = {
    iterations: opts.iterations ?? 2000,
    seed: opts.seed ?? 0,
    level: opts.level ?? 0.95,
  };
  const groups = groupByCell(records);
  const recordsOf = (row: string, column: string): EvalRecord[] => groups.get(JSON.stringify([row, column])) ?? [];
  const baselineSpec = spec.baselineRow === undefined ? undefined : spec.rows.find((r) => r.key === spec.baselineRow);
  if (spec.baselineRow !== undefined && baselineSpec === undefined) {
    throw new Error(`table "${spec.title}": baseline row "${spec.baselineRow}" is not one of its rows`);
  }

  const rows = spec.rows.map((row): ResultRow => {
    const members = row.members ?? [row.key];
    const byKey = new Map<string, ResultCell>();
    const cells = spec.columns.map((column): ResultCell => {
      const paper = row.paper?.[column.key] ?? null;
      const status = (): CellStatus => opts.statuses?.[row.key]?.[column.key] ?? 'not run';
      let cell: ResultCell;
      if (column.derive) {
        cell = derivedCell(column.key, column.derive, paper, byKey);
      } else if (members.length > 1) {
        cell = membersCell(column, members, paper, status, recordsOf, bootstrap);
      } else {
        const data = column.data ?? column.key;
        const metric = column.metric ?? ACCURACY;
        const cellRecords = recordsOf(row.key, data);
        if (cellRecords.length === 0) {
          cell = { column: column.key, ours: null, status: status(), paper, delta: null, paired: null };
        } else {
          const { value, n, ci } = cellMetrics(cellRecords, metric, bootstrap);
          const isBaseline = baselineSpec === undefined || row.key === baselineSpec.key;
          const partial = opts.partial?.[row.key]?.[data];
          cell = {
            column: column.key,
            ours: { value, n, ci },
            status: partial ? `partial (${partial.n} of ${partial.of ?? '?'})` : null,
            paper,
            delta: paper === null || partial ? null : difference(value, paper),
            paired: isBaseline
              ? null
              : pairedComparison(cellRecords, recordsOf(baselineSpec.key, data), metric, bootstrap),
          };
        }
      }
      byKey.set(column.key, cell);
      return cell;
    });
    // The table's average is over the columns read from records, as the paper averages its datasets.
    if (spec.average)
      cells.push(
        averageCell(
          row,
          cells.filter((_, i) => !spec.columns[i]!.derive),
        ),
      );
    return { key: row.key, label: row.label, paperWithheld: row.paperWithheld ?? false, cells };
  });

  return {
    title: spec.title,
    columns: spec.average ? [...spec.columns, AVERAGE_COLUMN] : [...spec.columns],
    rows,
    baseline: baselineSpec ? { key: baselineSpec.key, label: baselineSpec.label } : null,
    footnotes: [...spec.footnotes],
    bootstrap,
  };
}
