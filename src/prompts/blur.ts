import type { BoxXYWH } from '../image/box.js';
import { pillowGaussianBlur } from '../image/gaussian-blur.js';
import type { RgbImage } from '../image/rgb-image.js';
import { defineMethod } from './method-definition.js';
import { insideRectangleFrom } from './pillow-rectangle.js';
import { BLUR_SIGMA } from './shared-params.js';

/**
 * ReCLIP's "blur" representation: the whole image blurred as Pillow's `GaussianBlur(sigma)` does (byte
 * for byte: its variance is σ², where sharp's truncated kernel gives σ ≈ 0.84 of the one asked for),
 * then the original pixels put back inside the box (the rectangle Pillow fills for the mask).
 */
export async function blurOutside(img: RgbImage, box: BoxXYWH, sigma: number): Promise<RgbImage> {
  return insideRectangleFrom(img, pillowGaussianBlur(img, sigma), box);
}

export const blur = defineMethod({
  name: 'blur',
  summary: 'blur: the image Gaussian-blurred outside the box, the box itself unchanged (ReCLIP)',
  params: { blur_sigma: BLUR_SIGMA },
  fills: ['edit'],
  prepare: (p, ctx) => ({
    edit: {
      key: `blur σ ${p.blur_sigma} at [${ctx.box.join(',')}]`,
      apply: (img) => blurOutside(img, ctx.box, p.blur_sigma),
    },
  }),
});
