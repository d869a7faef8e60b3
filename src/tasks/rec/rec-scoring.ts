import { boxArea, iou, type BoxXYWH } from '../../image/box.js';
import { scaledCosine } from '../shared/scores.js';

/**
 * Boxes that compete for a sentence: area/(W·H) > 0 (ReCLIP's `box_area_threshold` 0, strict), so
 * zero-area boxes are dropped; if none survives, every box competes (as the reference does).
 */
export function candidateIndices(boxes: readonly BoxXYWH[], width: number, height: number): number[] {
  const kept = boxes.flatMap((b, i) => (boxArea(b) / (width * height) > 0 ? [i] : []));
  return kept.length > 0 ? kept : boxes.map((_, i) => i);
}

/** Correct iff the predicted box overlaps any target box with IoU strictly above 0.5. */
export function isCorrect(predicted: BoxXYWH, targets: readonly BoxXYWH[]): boolean {
  return targets.some((t) => iou(predicted, t) > 0.5);
}

/**
 * A box's logit for one method: 100·cos(image, caption), minus, with subtraction ("P"), the mean
 * logit of the negative captions — which is 100·cos against their mean feature, since the image
 * feature is fixed (the mean is linear).
 */
export function boxLogit(image: Float32Array, caption: Float32Array, negativeMean?: Float32Array): number {
  const s = scaledCosine(image, caption);
  return negativeMean ? s - scaledCosine(image, negativeMean) : s;
}
