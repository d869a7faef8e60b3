import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { defineMethod } from './method-definition.js';
import { pillowFilledRectangle } from './pillow-rectangle.js';

/** CPT's tint as ReCLIP draws it: RGB (240, 0, 30) at alpha 127 of 255. */
export const SHADE_TINT = { rgb: [240, 0, 30], alpha: 127 } as const;

/** ReCLIP's text for shaded images; `{}` is the referring expression (no "a photo of"). */
export const SHADE_TEXT_TEMPLATE = '{} is in red color.';

/**
 * The "shade" representation: the box tinted as `Image.alpha_composite(image, overlay)` would, overlay
 * being SHADE_TINT inside the box (the rectangle Pillow fills) and transparent elsewhere.
 * Computed here rather than with sharp's composite because sharp's 'over' is off by one from Pillow's
 * rounded blend on about half the values; over an opaque image Pillow's fixed-point arithmetic equals
 * round(src·a + dst·(1−a)) exactly, which is what this computes.
 */
export async function shadeBox(img: RgbImage, box: BoxXYWH): Promise<RgbImage> {
  const out = new Uint8Array(img.data);
  const inside = pillowFilledRectangle(box, img.width, img.height);
  if (inside === null) return { width: img.width, height: img.height, data: out };
  const a = SHADE_TINT.alpha;
  for (let y = inside.top; y < inside.top + inside.height; y++) {
    for (let x = inside.left; x < inside.left + inside.width; x++) {
      const p = (y * img.width + x) * 3;
      for (let c = 0; c < 3; c++) {
        out[p + c] = Math.round((SHADE_TINT.rgb[c]! * a + img.data[p + c]! * (255 - a)) / 255);
      }
    }
  }
  return { width: img.width, height: img.height, data: out };
}

/** CPT as ReCLIP adapts it: the shaded box, and a caption without "a photo of". */
export const shade = defineMethod({
  name: 'shade',
  summary: 'shade (CPT): the box tinted (240,0,30) at alpha 127/255; captions "<expr> is in red color."',
  params: {},
  fills: ['edit'],
  captionTemplate: SHADE_TEXT_TEMPLATE,
  prepare: (_p, ctx) => ({ edit: { key: `shade at [${ctx.box.join(',')}]`, apply: (img) => shadeBox(img, ctx.box) } }),
});
