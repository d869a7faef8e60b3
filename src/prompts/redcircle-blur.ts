import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { pillowGaussianBlur } from '../image/gaussian-blur.js';
import { inscribedEllipse, insideEllipseFrom, withRedOutline } from './ellipse.js';
import { defineMethod } from './method-definition.js';
import { circleThickness, enlargeNotes, type RedCircleOptions } from './redcircle.js';
import { BLUR_SIGMA, CIRCLE_THICKNESS, ENLARGE } from './shared-params.js';

/**
 * FALIP's "circle" representation (its code hard-codes the blur): the whole image blurred, the
 * original put back inside the filled ellipse, then the red outline.
 */
export async function redCircleBlur(
  img: RgbImage,
  box: BoxXYWH,
  o: RedCircleOptions & { blurSigma: number },
): Promise<RgbImage> {
  const blurred = pillowGaussianBlur(img, o.blurSigma);
  const ellipse = inscribedEllipse(img, box, o.enlarge);
  if (ellipse === null) return blurred;
  return withRedOutline(await insideEllipseFrom(img, blurred, ellipse), ellipse, circleThickness(img, o.thickness));
}

export const redcircleBlur = defineMethod({
  name: 'redcircle+blur',
  summary: 'RedCircle + blur (FALIP\'s "circle"): red ellipse outline, the image blurred outside the ellipse',
  params: { circle_thickness: CIRCLE_THICKNESS, enlarge: ENLARGE, blur_sigma: BLUR_SIGMA },
  fills: ['edit'],
  notes: (p) => enlargeNotes(p.enlarge),
  prepare: (p, ctx) => {
    const o = { thickness: p.circle_thickness, enlarge: p.enlarge, blurSigma: p.blur_sigma };
    return {
      edit: {
        key: `redcircle+blur ${JSON.stringify(o)} at [${ctx.box.join(',')}]`,
        apply: (img) => redCircleBlur(img, ctx.box, o),
      },
    };
  },
});
