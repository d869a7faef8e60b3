import type { EvalRecord } from '../../report/records.js';
import { dot } from '../../util/vector.js';
import { LOGIT_SCALE } from '../rec/rec-scoring.js';

/** 100·cos of a normalized image feature with each class's normalized text embedding. */
export function classLogits(image: Float32Array, classifier: readonly Float32Array[]): Float64Array {
  return Float64Array.from(classifier, (t) => LOGIT_SCALE * dot(image, t));
}

/** Class indices by score, best first; equal scores keep the lower index first (numpy's stable argsort of −score). */
export function ranking(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, k);
}

/** The classes a classification record lists, best first. */
const TOP_K = 5;

/**
 * The fields every classification record (images, clouds) has, in this order: the prediction is the
 * best-ranked class (ties to the lower index), `top5` the TOP_K best.
 */
export function classRecord(
  row: string,
  column: string,
  id: string,
  scores: ArrayLike<number>,
  label: number,
): EvalRecord & { label: number; top5: number[] } {
  const top5 = ranking(scores, TOP_K);
  return { row, column, id, pred: top5[0]!, correct: top5[0] === label, label, top5 };
}
