import { clampedCorners, type BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { UserError } from '../util/errors.js';
import { BLUR_DEFAULTS } from './blur.js';
import { fromSharp, toSharp } from './raw-image.js';

export interface RedCircleOptions {
  /** Outline width in pixels, drawn inward from the box edge. */
  thickness?: number;
}

export interface RedCircleBlurOptions extends RedCircleOptions {
  /** Gaussian σ of the blur outside the ellipse. */
  blurSigma?: number;
}

/** FALIP's "circle" blurs with the same `blur_std_dev` as the box blur. */
export const REDCIRCLE_BLUR_DEFAULTS = { blurSigma: BLUR_DEFAULTS.sigma } as const;

/** The FALIP/ReCLIP outline width `int(max(W, H) / 200)` (3 px at 640 px), but never below 1 px. */
export function defaultCircleThickness(width: number, height: number): number {
  return Math.max(1, Math.floor(Math.max(width, height) / 200));
}

/** The ellipse inscribed in a box, in continuous pixel coordinates. */
interface Ellipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

function inscribedEllipse(img: RgbImage, box: BoxXYWH): Ellipse | null {
  const [l, t, r, b] = clampedCorners(box, img.width, img.height);
  // SVG would take |rx| of a negative radius and draw outside the box, so an empty box gets no ellipse.
  if (r <= l || b <= t) return null;
  return { cx: (l + r) / 2, cy: (t + b) / 2, rx: (r - l) / 2, ry: (b - t) / 2 };
}

/** An SVG path for the ellipse as two half arcs (a single arc cannot close on its start point). */
function ellipsePath({ cx, cy, rx, ry }: Ellipse): string {
  return `M ${cx - rx} ${cy} A ${rx} ${ry} 0 1 0 ${cx + rx} ${cy} A ${rx} ${ry} 0 1 0 ${cx - rx} ${cy} Z`;
}

/**
 * A full-image SVG filling `path` with red. crispEdges turns antialiasing off, so every pixel is either
 * pure red or transparent, and pixels whose centre lies inside the shape are the filled ones.
 */
function redShapeSvg(img: RgbImage, path: string): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${img.width}" height="${img.height}">` +
      `<path d="${path}" fill="rgb(255,0,0)" fill-rule="evenodd" shape-rendering="crispEdges"/></svg>`,
  );
}

/**
 * The outline as the ring between the inscribed ellipse and one shrunk by `thickness`, so the stroke lies
 * inside the box as Pillow's inward `width` does; when the box is thinner than two strokes it is a disc.
 */
function outlineSvg(img: RgbImage, ellipse: Ellipse, thickness: number): Buffer {
  const inner = { ...ellipse, rx: ellipse.rx - thickness, ry: ellipse.ry - thickness };
  const path = inner.rx > 0 && inner.ry > 0 ? `${ellipsePath(ellipse)} ${ellipsePath(inner)}` : ellipsePath(ellipse);
  return redShapeSvg(img, path);
}

function resolveThickness(img: RgbImage, options: RedCircleOptions): number {
  const thickness = options.thickness ?? defaultCircleThickness(img.width, img.height);
  if (!(thickness >= 1)) throw new UserError(`red circle thickness must be at least 1 pixel, got ${thickness}`);
  return thickness;
}

/**
 * Plain RedCircle: a red ellipse outline inscribed in the clamped box, nothing else changed. (FALIP's
 * "circle" also blurs outside the ellipse; that is `redCircleBlur`.)
 */
export async function redCircle(img: RgbImage, box: BoxXYWH, options: RedCircleOptions = {}): Promise<RgbImage> {
  const thickness = resolveThickness(img, options);
  const ellipse = inscribedEllipse(img, box);
  if (ellipse === null) return { width: img.width, height: img.height, data: new Uint8Array(img.data) };
  return fromSharp(toSharp(img).composite([{ input: outlineSvg(img, ellipse, thickness) }]));
}

/**
 * FALIP's "circle" representation: the whole image blurred, the original put back inside the filled
 * ellipse, then the red outline. (Pillow's mask also gives the ellipse's 1-px rim weight 76, but the red
 * outline covers that rim, so a binary mask gives the same image.)
 */
export async function redCircleBlur(img: RgbImage, box: BoxXYWH, options: RedCircleBlurOptions = {}): Promise<RgbImage> {
  const thickness = resolveThickness(img, options);
  const blurred = toSharp(img).blur(options.blurSigma ?? REDCIRCLE_BLUR_DEFAULTS.blurSigma);
  const ellipse = inscribedEllipse(img, box);
  if (ellipse === null) return fromSharp(blurred);
  // The original, opaque inside the ellipse and transparent outside it ('dest-in' keeps the base where
  // the SVG is opaque; the SVG's colour is irrelevant).
  const originalInEllipse = await toSharp(img)
    .ensureAlpha()
    .composite([{ input: redShapeSvg(img, ellipsePath(ellipse)), blend: 'dest-in' }])
    .raw()
    .toBuffer();
  return fromSharp(
    blurred.composite([
      { input: originalInEllipse, raw: { width: img.width, height: img.height, channels: 4 } },
      { input: outlineSvg(img, ellipse, thickness) },
    ]),
  );
}
