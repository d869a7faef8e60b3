import { dot } from '../../util/vector.js';

/** CLIP's logit scale for OpenAI checkpoints: every task scores 100·cos. */
export const LOGIT_SCALE = 100;

/** 100·cos of two normalized features. */
export function scaledCosine(image: Float32Array, text: Float32Array): number {
  return LOGIT_SCALE * dot(image, text);
}

/** Index of the highest score (among `indices` when given); ties go to the first (numpy's argmax). */
export function argmax(scores: ArrayLike<number>, indices?: readonly number[]): number {
  const among = indices ?? Array.from({ length: scores.length }, (_, i) => i);
  let best = among[0]!;
  for (const i of among) if (scores[i]! > scores[best]!) best = i;
  return best;
}

/** Indices by score, best first; equal scores keep the lower index first (numpy's stable argsort of −score). */
export function ranking(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, k);
}
