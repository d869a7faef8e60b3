import { bootstrapCI, pairedBootstrapDiff, type BootstrapOptions } from './bootstrap.js';
import { compareIds, type EvalRecord } from './records.js';

/** Accuracy of one table cell. */
export interface CellMetrics {
  /** Items evaluated. */
  n: number;
  /** Items answered correctly. */
  correct: number;
  /** Percent. */
  accuracy: number;
  /** Percentile bootstrap interval of the accuracy, percent. */
  ci: [number, number];
}

/** A row against the baseline row on the items both evaluated. */
export interface PairedComparison {
  /** Items present in both. */
  n: number;
  /** Accuracy of the row minus accuracy of the baseline, percentage points. */
  diff: number;
  ci: [number, number];
}

/**
 * `records` of one cell, non-empty (an empty cell has a status, not metrics). Sorted by id first:
 * records are appended in completion order, and the bootstrap must not depend on it.
 */
export function cellMetrics(records: readonly EvalRecord[], opts: BootstrapOptions = {}): CellMetrics {
  if (records.length === 0) throw new Error('cellMetrics of an empty cell');
  const correct = [...records].sort(compareIds).map((r) => r.correct);
  const { mean, lo, hi } = bootstrapCI(correct, opts);
  return { n: records.length, correct: correct.filter(Boolean).length, accuracy: mean, ci: [lo, hi] };
}

/**
 * Paired comparison on the ids present in both cells (a `--limit` run may cover only part of the
 * baseline), in id order so the result does not depend on evaluation order. Null when no id is shared.
 */
export function pairedComparison(
  rowRecords: readonly EvalRecord[],
  baselineRecords: readonly EvalRecord[],
  opts: BootstrapOptions = {},
): PairedComparison | null {
  const baselineById = new Map(baselineRecords.map((r) => [r.id, r.correct]));
  const shared = rowRecords.filter((r) => baselineById.has(r.id)).sort(compareIds);
  if (shared.length === 0) return null;
  const { diff, lo, hi } = pairedBootstrapDiff(
    shared.map((r) => r.correct),
    shared.map((r) => baselineById.get(r.id)!),
    opts,
  );
  return { n: shared.length, diff, ci: [lo, hi] };
}
