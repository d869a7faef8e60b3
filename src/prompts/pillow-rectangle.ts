import type { Region } from 'sharp';
import { clampedCorners, type BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';

/**
 * The pixels that Pillow's `ImageDraw.rectangle(box, fill=…)` fills, which is how the reference marks
 * "inside the box" for blur and shade: each float corner is cast to int (truncated; corners are ≥ 0
 * after clamping, so this is floor) and both ends are inclusive, then clipped to the image.
 * Returns null when nothing is filled (a box lying on or beyond the right/bottom edge).
 */
export function pillowFilledRectangle(box: BoxXYWH, width: number, height: number): Region | null {
  const [l, t, r, b] = clampedCorners(box, width, height);
  const left = Math.trunc(l);
  const top = Math.trunc(t);
  const right = Math.min(Math.trunc(r), width - 1);
  const bottom = Math.min(Math.trunc(b), height - 1);
  if (right < left || bottom < top) return null;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * `outside` with `inside`'s pixels put back within the rectangle Pillow fills for `box` (a new image;
 * `outside` itself when nothing is filled): the prompts that change what lies outside the box (blur,
 * grayscale). The rectangle's counterpart of insideEllipseFrom.
 */
export function insideRectangleFrom(inside: RgbImage, outside: RgbImage, box: BoxXYWH): RgbImage {
  const rect = pillowFilledRectangle(box, inside.width, inside.height);
  if (rect === null) return outside;
  const out = new Uint8Array(outside.data);
  for (let y = rect.top; y < rect.top + rect.height; y++) {
    const start = (y * inside.width + rect.left) * 3;
    out.set(inside.data.subarray(start, start + rect.width * 3), start);
  }
  return { width: inside.width, height: inside.height, data: out };
}
