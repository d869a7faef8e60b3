import type { BoxXYWH } from '../image/box.js';
import { pillowGaussianBlur } from '../image/gaussian-blur.js';
import type { RgbImage } from '../image/rgb-image.js';
import { defineMethod } from './method-definition.js';
import { pillowFilledRectangle } from './pillow-rectangle.js';
import { BLUR_SIGMA } from './shared-params.js';

/**
 * ReCLIP's "blur" representation: the whole image blurred as Pillow's `GaussianBlur(sigma)` does (byte
 * for byte: its variance is σ², where sharp's truncated kernel gives σ ≈ 0.84 of the one asked for),
 * then the original pixels put back inside the box (the rectangle Pillow fills for the mask).
 */
export async function blurOutside(img: RgbImage, box: BoxXYWH, sigma: number): Promise<RgbImage> {
  const inside = pillowFilledRectangle(box, img.width, img.height);
  const blurred = pillowGaussianBlur(img, sigma);
  if (inside === null) return blurred;
  const out = new Uint8Array(blurred.data);
  for (let y = inside.top; y < inside.top + inside.height; y++) {
    const start = (y * img.width + inside.left) * 3;
    out.set(img.data.subarray(start, start + inside.width * 3), start);
  }
  return { width: img.width, height: img.height, data: out };
}

export const blur = defineMethod({
  name: 'blur',
  summary: 'blur: the image Gaussian-blurred outside the box, the box itself unchanged (ReCLIP)',
  params: { blur_sigma: BLUR_SIGMA },
  fills: ['edit'],
  prepare: (p, ctx) => ({ edit: { key: `blur σ ${p.blur_sigma} at [${ctx.box.join(',')}]`, apply: (img) => blurOutside(img, ctx.box, p.blur_sigma) } }),
});
