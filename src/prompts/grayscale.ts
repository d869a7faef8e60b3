import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { defineMethod } from './method-definition.js';
import { insideRectangleFrom } from './pillow-rectangle.js';

/**
 * The whole image in gray: the rounded ITU-R 601 luma 0.299R + 0.587G + 0.114B in all three channels.
 * FGVP's cv2 call swaps R and B (BGR2GRAY on RGB data); we use the intended weights. Not sharp: its
 * `grayscale()` takes linear-light luminance and its `recomb()` truncates, neither of which is this luma.
 */
export function grayImage(img: RgbImage): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let p = 0; p < out.length; p += 3) {
    out.fill(Math.round(0.299 * img.data[p]! + 0.587 * img.data[p + 1]! + 0.114 * img.data[p + 2]!), p, p + 3);
  }
  return { width: img.width, height: img.height, data: out };
}

/**
 * Gray outside the box (FGVP's `grayscale_box_mask`), inside unchanged. "Inside" is the same rectangle
 * as for blur and shade, so the prompts mark identical pixels.
 */
export async function grayscaleOutside(img: RgbImage, box: BoxXYWH): Promise<RgbImage> {
  return insideRectangleFrom(img, grayImage(img), box);
}

export const grayscale = defineMethod({
  name: 'grayscale',
  summary: "grayscale: the image in gray outside the box, the box itself in colour (FGVP's box mask)",
  params: {},
  fills: ['edit'],
  prepare: (_p, ctx) => ({
    edit: { key: `grayscale at [${ctx.box.join(',')}]`, apply: (img) => grayscaleOutside(img, ctx.box) },
  }),
});
