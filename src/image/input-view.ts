import { clampedCorners, type BoxXYWH } from './box.js';
import { pillowResizeBicubic } from './pillow-resize.js';
import type { RgbImage } from './rgb-image.js';
import { roundHalfEven } from '../util/round.js';

/**
 * How an image becomes the model's S×S input, and where its pixels and boxes land there.
 *
 * - `squash`: the FALIP/ReCLIP reference's bicubic resize of the whole image to S×S (the aspect ratio
 *   is distorted, nothing is cut); boxes scale by S/W and S/H (image/preprocess.ts, token-grid.ts).
 * - `center-crop`: the test-time transform of the prompt-learning papers (CoOp, CoCoOp, IVLP, MaPLe,
 *   FVG-PT: Dassl's `Resize(S, bicubic)` then `CenterCrop(S)` on a PIL image): the shorter side is
 *   resized to S with Pillow's bicubic (pillow-resize.ts), the longer to ⌊S·long/short⌋, and the
 *   middle S×S is kept, its offset rounded half to even as torchvision rounds it. Boxes follow the
 *   crop: scaled, shifted, and clipped to it.
 */
export const PREPROCESSINGS = ['squash', 'center-crop'] as const;
export type Preprocessing = (typeof PREPROCESSINGS)[number];

/** Where an original pixel coordinate (x, y) lands in the S×S input: (x·scaleX − left, y·scaleY − top). */
export interface InputGeometry {
  size: number;
  scaleX: number;
  scaleY: number;
  left: number;
  top: number;
  /** `center-crop`: the resized image the crop is cut from. */
  resized?: { width: number; height: number };
}

/**
 * torchvision's `Resize(S)` size for an image (its `_compute_resized_output_size`: the longer side is
 * `int(S · long / short)`, truncated) and `CenterCrop(S)`'s offsets (`int(round((resized − S) / 2))`).
 */
export function centerCropGeometry(width: number, height: number, size: number): InputGeometry {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  const [w, h] = width <= height ? [size, newLong] : [newLong, size];
  return {
    size,
    scaleX: w / width,
    scaleY: h / height,
    left: roundHalfEven((w - size) / 2),
    top: roundHalfEven((h - size) / 2),
    resized: { width: w, height: h },
  };
}

export function inputGeometry(p: Preprocessing, width: number, height: number, size: number): InputGeometry {
  return p === 'center-crop'
    ? centerCropGeometry(width, height, size)
    : { size, scaleX: size / width, scaleY: size / height, left: 0, top: 0 };
}

/** A box in the view an image's methods see, or why it has none there. */
export type ViewBox = { box: BoxXYWH; clipped: boolean } | { box: null; clipped: true };

/**
 * A box (clamped to its image first, as every prompt does) in the centre crop's S×S pixels: scaled and
 * shifted, then clipped to the crop (`clipped` when the crop cut part of it away). A box the crop cuts
 * away entirely, or to no area, has none.
 */
export function centerCropBox(box: BoxXYWH, width: number, height: number, g: InputGeometry): ViewBox {
  const [l, t, r, b] = clampedCorners(box, width, height);
  const x0 = l * g.scaleX - g.left;
  const y0 = t * g.scaleY - g.top;
  const x1 = r * g.scaleX - g.left;
  const y1 = b * g.scaleY - g.top;
  const cx0 = Math.max(x0, 0);
  const cy0 = Math.max(y0, 0);
  const cx1 = Math.min(x1, g.size);
  const cy1 = Math.min(y1, g.size);
  if (cx1 <= cx0 || cy1 <= cy0) return { box: null, clipped: true };
  const clipped = cx0 !== x0 || cy0 !== y0 || cx1 !== x1 || cy1 !== y1;
  return { box: [cx0, cy0, cx1 - cx0, cy1 - cy0], clipped };
}

/** The image resized (Pillow's bicubic) and cut to its centre S×S, as `centerCropGeometry` places it. */
export function centerCropImage(img: RgbImage, size: number): RgbImage {
  const g = centerCropGeometry(img.width, img.height, size);
  const resized = pillowResizeBicubic(img, g.resized!.width, g.resized!.height);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((y + g.top) * resized.width + g.left) * 3;
    out.set(resized.data.subarray(from, from + size * 3), y * size * 3);
  }
  return { width: size, height: size, data: out };
}
