import type { ImageEdit } from '../encoder/requests.js';
import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { inscribedEllipse, withRedOutline } from './ellipse.js';
import { defineMethod } from './method-definition.js';
import { CIRCLE_THICKNESS, ENLARGE } from './shared-params.js';

export interface RedCircleOptions {
  /** Outline width in pixels, drawn inward from the box edge; 'auto' = the released code's rule. */
  thickness: number | 'auto';
  /** Pixels the box grows by on each side before the ellipse is inscribed (Table 14); clamped to the image. */
  enlarge: number;
}

/** The FALIP/ReCLIP outline width `int(max(W, H) / 200)` (3 px at 640 px), but never below 1 px. */
export function defaultCircleThickness(width: number, height: number): number {
  return Math.max(1, Math.floor(Math.max(width, height) / 200));
}

export function circleThickness(img: { width: number; height: number }, thickness: number | 'auto'): number {
  return thickness === 'auto' ? defaultCircleThickness(img.width, img.height) : thickness;
}

/**
 * Plain RedCircle: a red ellipse outline inscribed in the clamped box, nothing else changed. (FALIP's
 * "circle" also blurs outside the ellipse; that is `redcircle+blur`.)
 */
export async function redCircle(img: RgbImage, box: BoxXYWH, o: RedCircleOptions): Promise<RgbImage> {
  const ellipse = inscribedEllipse(img, box, o.enlarge);
  if (ellipse === null) return { width: img.width, height: img.height, data: new Uint8Array(img.data) };
  return withRedOutline(img, ellipse, circleThickness(img, o.thickness));
}

export const REDCIRCLE_PARAMS = { circle_thickness: CIRCLE_THICKNESS, enlarge: ENLARGE };

/** What an enlarged ellipse does at the image border, for footnotes. */
export function enlargeNotes(enlarge: number): string[] {
  if (enlarge === 0) return [];
  return [
    `the ellipse's box grows by ${enlarge} px on each side and is clamped to the image, so at a border it stops at the image's edge (at most the image's inscribed ellipse)`,
  ];
}

/** The RedCircle edit of one box, shared by the prompts that show CLIP the RedCircle image. */
export function redCircleEdit(p: { circle_thickness: number | 'auto'; enlarge: number }, box: BoxXYWH): ImageEdit {
  const o: RedCircleOptions = { thickness: p.circle_thickness, enlarge: p.enlarge };
  return { key: `redcircle ${JSON.stringify(o)} at [${box.join(',')}]`, apply: (img) => redCircle(img, box, o) };
}

export const redcircle = defineMethod({
  name: 'redcircle',
  summary: 'RedCircle: a red ellipse outline inscribed in the box, drawn into the image',
  params: REDCIRCLE_PARAMS,
  fills: ['edit'],
  notes: (p) => enlargeNotes(p.enlarge),
  prepare: (p, ctx) => ({ edit: redCircleEdit(p, ctx.box) }),
});
