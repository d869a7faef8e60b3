import { boxArea, iou, type BoxXYWH } from '../../image/box.js';
import { dot } from '../../util/vector.js';

/**
 * Boxes that compete for a sentence: area/(W·H) > 0 (ReCLIP's `box_area_threshold` 0, strict), so
 * zero-area boxes are dropped; if none survives, every box competes (as the reference does).
 */
export function candidateIndices(boxes: readonly BoxXYWH[], width: number, height: number): number[] {
  const kept = boxes.flatMap((b, i) => (boxArea(b) / (width * height) > 0 ? [i] : []));
  return kept.length > 0 ? kept : boxes.map((_, i) => i);
}

/** Index of the highest score among the candidates; ties go to the first (numpy's argmax). */
export function predictBox(scores: readonly number[], candidates: readonly number[]): number {
  let best = candidates[0]!;
  for (const i of candidates) if (scores[i]! > scores[best]!) best = i;
  return best;
}

/** Correct iff the predicted box overlaps any target box with IoU strictly above 0.5. */
export function isCorrect(predicted: BoxXYWH, targets: readonly BoxXYWH[]): boolean {
  return targets.some((t) => iou(predicted, t) > 0.5);
}

/** CLIP's logit scale for OpenAI checkpoints: scores are 100·cos. */
export const LOGIT_SCALE = 100;

/**
 * A box's logit for one method: 100·cos(image, caption), minus, with subtraction ("P"), the mean
 * logit of the negative captions — which is 100·cos against their mean feature, since the image
 * feature is fixed (the mean is linear).
 */
export function boxLogit(image: Float32Array, caption: Float32Array, negativeMean?: Float32Array): number {
  const s = LOGIT_SCALE * dot(image, caption);
  return negativeMean ? s - LOGIT_SCALE * dot(image, negativeMean) : s;
}
