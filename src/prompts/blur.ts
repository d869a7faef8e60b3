import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { pillowFilledRectangle } from './pillow-rectangle.js';
import { fromSharp, toSharp } from './raw-image.js';

export interface BlurOptions {
  /** Gaussian σ in pixels of the original image. */
  sigma?: number;
}

/** ReCLIP's `blur_std_dev` (Pillow's GaussianBlur radius, which Pillow treats as σ). */
export const BLUR_DEFAULTS = { sigma: 100 } as const satisfies Required<BlurOptions>;

/**
 * ReCLIP's "blur" representation: the whole image Gaussian-blurred, then the original pixels put back
 * inside the box (the rectangle Pillow fills for the mask), so the inside is byte-identical.
 * sharp's true Gaussian stands in for Pillow's 3-pass box-blur approximation.
 */
export async function blurOutside(img: RgbImage, box: BoxXYWH, options: BlurOptions = {}): Promise<RgbImage> {
  const sigma = options.sigma ?? BLUR_DEFAULTS.sigma;
  const inside = pillowFilledRectangle(box, img.width, img.height);
  const blurred = toSharp(img).blur(sigma);
  if (inside === null) return fromSharp(blurred);
  const original = await toSharp(img).extract(inside).raw().toBuffer();
  return fromSharp(
    blurred.composite([
      { input: original, raw: { width: inside.width, height: inside.height, channels: 3 }, left: inside.left, top: inside.top },
    ]),
  );
}
