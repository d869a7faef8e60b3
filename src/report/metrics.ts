import { bootstrapCI, bootstrapStatistic, pairedBootstrapDiff, type BootstrapOptions } from './bootstrap.js';
import { compareIds, type EvalRecord } from './records.js';

/**
 * How a table cell turns its records into one number (percent). A mean over items gives `perItem`
 * (accuracy, top-5); anything else gives `ofRecords` over the cell (mean per class, worst group) and is
 * bootstrapped by resampling items.
 */
export type Metric =
  | { label: string; perItem: (r: EvalRecord) => number }
  | { label: string; ofRecords: (records: readonly EvalRecord[]) => number };

/** REC's and every task's top-1: percent of items answered correctly. */
export const ACCURACY: Metric = { label: 'accuracy', perItem: (r) => (r.correct ? 100 : 0) };

/** One table cell's number: the value of its metric (accuracy, Top-5, a mean per class, ...). */
export interface CellMetrics {
  /** Items evaluated. */
  n: number;
  /** The metric's value, percent. */
  value: number;
  /** Percentile bootstrap interval, percent. */
  ci: [number, number];
}

/** A row against the baseline row on the items both evaluated. */
export interface PairedComparison {
  /** Items present in both. */
  n: number;
  /** The row's value minus the baseline's, percentage points. */
  diff: number;
  ci: [number, number];
}

function select(records: readonly EvalRecord[], indices: Uint32Array): EvalRecord[] {
  return Array.from(indices, (i) => records[i]!);
}

/**
 * `metric` of one cell's records, non-empty (an empty cell has a status, not metrics). Sorted by id
 * first: records are appended in completion order, and the bootstrap must not depend on it.
 */
export function cellMetrics(
  records: readonly EvalRecord[],
  metric: Metric = ACCURACY,
  opts: BootstrapOptions = {},
): CellMetrics {
  if (records.length === 0) throw new Error('cellMetrics of an empty cell');
  const sorted = [...records].sort(compareIds);
  const { mean, lo, hi } =
    'perItem' in metric
      ? bootstrapCI(sorted.map(metric.perItem), opts)
      : bootstrapStatistic(sorted.length, (ix) => metric.ofRecords(select(sorted, ix)), opts);
  return { n: records.length, value: mean, ci: [lo, hi] };
}

/**
 * Paired comparison on the ids present in both cells (a `--limit` run may cover only part of the
 * baseline), in id order so the result does not depend on evaluation order. Null when no id is shared.
 */
export function pairedComparison(
  rowRecords: readonly EvalRecord[],
  baselineRecords: readonly EvalRecord[],
  metric: Metric = ACCURACY,
  opts: BootstrapOptions = {},
): PairedComparison | null {
  const baselineById = new Map(baselineRecords.map((r) => [r.id, r]));
  const shared = rowRecords.filter((r) => baselineById.has(r.id)).sort(compareIds);
  if (shared.length === 0) return null;
  const base = shared.map((r) => baselineById.get(r.id)!);
  if ('perItem' in metric) {
    const { diff, lo, hi } = pairedBootstrapDiff(shared.map(metric.perItem), base.map(metric.perItem), opts);
    return { n: shared.length, diff, ci: [lo, hi] };
  }
  const { mean, lo, hi } = bootstrapStatistic(
    shared.length,
    (ix) => metric.ofRecords(select(shared, ix)) - metric.ofRecords(select(base, ix)),
    opts,
  );
  return { n: shared.length, diff: mean, ci: [lo, hi] };
}
