/**
 * An axis-aligned box in original-image pixels: top-left corner (x, y), width w, height h.
 * This is COCO's and ReCLIP's convention; continuous coordinates, no +1 pixel rule.
 */
export type BoxXYWH = readonly [x: number, y: number, w: number, h: number];

export function boxArea(b: BoxXYWH): number {
  return Math.max(0, b[2]) * Math.max(0, b[3]);
}

/** Intersection over union with continuous xywh arithmetic (ReCLIP's `iou`). */
export function iou(a: BoxXYWH, b: BoxXYWH): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(0, iw) * Math.max(0, ih);
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Corners (left, top, right, bottom) clamped to the image, as the reference does before any prompt. */
export function clampedCorners(
  b: BoxXYWH,
  width: number,
  height: number,
): [l: number, t: number, r: number, bt: number] {
  return [Math.max(b[0], 0), Math.max(b[1], 0), Math.min(b[0] + b[2], width), Math.min(b[1] + b[3], height)];
}

/** A box as fractions of its image's width and height (drawn at any thumbnail size). */
export function boxFractions(b: BoxXYWH, width: number, height: number): [number, number, number, number] {
  return [b[0] / width, b[1] / height, b[2] / width, b[3] / height];
}
