import type { Metric } from '../../report/metrics.js';
import type { EvalRecord } from '../../report/records.js';
import { ranking, scaledCosine } from './scores.js';

/** 100·cos of a normalized image feature with each class's normalized text embedding. */
export function classLogits(image: Float32Array, classifier: readonly Float32Array[]): Float64Array {
  return Float64Array.from(classifier, (t) => scaledCosine(image, t));
}

/** The classes a classification record lists, best first. */
const TOP_K = 5;

/**
 * The fields every classification record (images, clouds) has, in this order: the prediction is the
 * best-ranked class (ties to the lower index), `top5` the TOP_K best.
 */
export function classRecord(
  row: string,
  split: string,
  id: string,
  scores: ArrayLike<number>,
  label: number,
): EvalRecord & ClassRecordFields {
  const top5 = ranking(scores, TOP_K);
  return { row, split, id, pred: top5[0]!, correct: top5[0] === label, label, top5 };
}

/** What every class record (images, clouds) holds beside the common fields. */
export interface ClassRecordFields {
  label: number;
  /** The 5 best classes, best first. */
  top5: number[];
}

const fields = (r: EvalRecord) => r as EvalRecord & ClassRecordFields;
const inTop5 = (r: EvalRecord): boolean => fields(r).top5.includes(fields(r).label);

/** Mean over classes of each class's mean `hit`: every class weighs the same, however many items it has. */
function classMean(records: readonly EvalRecord[], hit: (r: EvalRecord) => boolean): number {
  const perClass = new Map<number, [number, number]>();
  for (const r of records) {
    const c = perClass.get(fields(r).label) ?? [0, 0];
    c[0] += hit(r) ? 1 : 0;
    c[1]++;
    perClass.set(fields(r).label, c);
  }
  let sum = 0;
  for (const [hits, n] of perClass.values()) sum += hits / n;
  return (100 * sum) / perClass.size;
}

/** The metrics of any class record: Top-1/Top-5 over items (micro) and their means per class. */
export const CLASS_METRICS = {
  top1: { label: 'Top-1', perItem: (r) => (r.correct ? 100 : 0) },
  top5: { label: 'Top-5', perItem: (r) => (inTop5(r) ? 100 : 0) },
  top1_class_mean: { label: 'Top-1 (mean per class)', ofRecords: (rs) => classMean(rs, (r) => r.correct) },
  top5_class_mean: { label: 'Top-5 (mean per class)', ofRecords: (rs) => classMean(rs, inTop5) },
} satisfies Record<string, Metric>;
