import type { Region } from 'sharp';
import { clampedCorners, type BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { defineMethod } from './method-definition.js';
import { fromSharp, toSharp } from './raw-image.js';
import { roundHalfEven } from '../util/round.js';

/**
 * The "crop" representation (ReCLIP/FALIP/FGVP): Pillow's `crop((l, t, r, b))` of the clamped box, whose
 * corners Pillow rounds to int. Unlike Pillow, the result is at least 1×1 so that degenerate boxes still
 * give CLIP an image.
 */
export async function cropBox(img: RgbImage, box: BoxXYWH): Promise<RgbImage> {
  const [l, t, r, b] = clampedCorners(box, img.width, img.height);
  const left = Math.min(roundHalfEven(l), img.width - 1);
  const top = Math.min(roundHalfEven(t), img.height - 1);
  const region: Region = {
    left,
    top,
    width: Math.max(1, roundHalfEven(r) - left),
    height: Math.max(1, roundHalfEven(b) - top),
  };
  return fromSharp(toSharp(img).extract(region));
}

export const crop = defineMethod({
  name: 'crop',
  summary: 'crop: the box cut out and squashed to the input size (ReCLIP)',
  params: {},
  fills: ['edit'],
  prepare: (_p, ctx) => ({ edit: { key: `crop at [${ctx.box.join(',')}]`, apply: (img) => cropBox(img, ctx.box) } }),
});
