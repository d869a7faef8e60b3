import type { BinaryMask } from '../datasets/foreground-mask.js';
import { type BoxXYWH, clampedCorners } from '../image/box.js';
import type { InputGeometry } from '../image/input-view.js';
import { gridSize, type VisionConfig } from '../model/clip-config.js';

/**
 * Each patch's foreground fraction [g²] in the S×S input the encoder sees (`geometry` maps the original
 * image there: squashed whole, or resized and centre-cropped), from a box or a binary mask in the
 * original image's pixels. The foreground share of docs/attention-statistics.md weighs the CLS row by it.
 */

/** The fraction of each patch cell the box covers (its area inside the cell over the cell's). */
export function boxForeground(
  box: BoxXYWH,
  size: { width: number; height: number },
  geometry: InputGeometry,
  v: VisionConfig,
): Float64Array {
  const [l, t, r, b] = clampedCorners(box, size.width, size.height);
  const S = geometry.size;
  const clip = (x: number) => Math.min(Math.max(x, 0), S);
  const [x0, x1] = [clip(l * geometry.scaleX - geometry.left), clip(r * geometry.scaleX - geometry.left)];
  const [y0, y1] = [clip(t * geometry.scaleY - geometry.top), clip(b * geometry.scaleY - geometry.top)];
  const g = gridSize(v);
  const P = v.patchSize;
  const out = new Float64Array(g * g);
  for (let row = 0; row < g; row++) {
    const h = Math.max(0, Math.min(y1, (row + 1) * P) - Math.max(y0, row * P));
    for (let col = 0; col < g; col++) {
      const w = Math.max(0, Math.min(x1, (col + 1) * P) - Math.max(x0, col * P));
      out[row * g + col] = (w * h) / (P * P);
    }
  }
  return out;
}

/**
 * The share of each patch cell's input pixels whose original pixel is foreground: every input pixel
 * (its centre mapped back through `geometry`) reads the mask pixel it falls on. Nearest sampling keeps
 * the mask binary, as FVG-PT binarises before any resize.
 */
export function maskForeground(mask: BinaryMask, geometry: InputGeometry, v: VisionConfig): Float64Array {
  const g = gridSize(v);
  const P = v.patchSize;
  const S = geometry.size;
  const out = new Float64Array(g * g);
  const originalX = new Int32Array(S);
  const originalY = new Int32Array(S);
  for (let x = 0; x < S; x++)
    originalX[x] = Math.min(mask.width - 1, Math.max(0, Math.floor((x + 0.5 + geometry.left) / geometry.scaleX)));
  for (let y = 0; y < S; y++)
    originalY[y] = Math.min(mask.height - 1, Math.max(0, Math.floor((y + 0.5 + geometry.top) / geometry.scaleY)));
  // Pixels past the last whole patch (S not a multiple of P) belong to no token.
  for (let y = 0; y < g * P; y++)
    for (let x = 0; x < g * P; x++)
      out[Math.floor(y / P) * g + Math.floor(x / P)]! += mask.data[originalY[y]! * mask.width + originalX[x]!]!;
  for (let i = 0; i < out.length; i++) out[i]! /= P * P;
  return out;
}

/** Whether a mask has any foreground: FVG-PT uses the whole image for one that has none. */
export function hasForeground(mask: BinaryMask): boolean {
  return mask.data.some((x) => x !== 0);
}
