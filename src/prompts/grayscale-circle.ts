import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { inscribedEllipse, insideEllipseFrom } from './ellipse.js';
import { grayImage } from './grayscale.js';
import { defineMethod } from './method-definition.js';

/** Gray outside the ellipse inscribed in the box, colour inside (FGVP's `grayscale_circle_mask`). */
export async function grayscaleOutsideEllipse(img: RgbImage, box: BoxXYWH): Promise<RgbImage> {
  const gray = grayImage(img);
  const ellipse = inscribedEllipse(img, box);
  return ellipse === null ? gray : insideEllipseFrom(img, gray, ellipse);
}

/** One member of FGVP's RedCircle ensemble (red circle, blur outside, gray outside the ellipse). */
export const grayscaleCircle = defineMethod({
  name: 'grayscale-circle',
  summary: "FGVP's gray outside the ellipse: the image in gray outside the ellipse inscribed in the box",
  params: {},
  fills: ['edit'],
  prepare: (_p, ctx) => ({
    edit: { key: `grayscale-circle at [${ctx.box.join(',')}]`, apply: (img) => grayscaleOutsideEllipse(img, ctx.box) },
  }),
});
