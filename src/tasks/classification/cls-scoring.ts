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
