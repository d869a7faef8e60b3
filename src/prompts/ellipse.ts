import { clampedCorners, type BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { fromSharp, toSharp } from './raw-image.js';

/** The ellipse inscribed in a box, in continuous pixel coordinates. */
export interface Ellipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

/**
 * The ellipse inscribed in the box grown by `enlarge` pixels on each side and clamped to the image:
 * near a border the grown box stops at the border, so the largest ellipse is the image's inscribed one.
 * Null for an empty box (SVG would take |rx| of a negative radius and draw outside the box).
 */
export function inscribedEllipse(img: RgbImage, box: BoxXYWH, enlarge = 0): Ellipse | null {
  const grown: BoxXYWH = [box[0] - enlarge, box[1] - enlarge, box[2] + 2 * enlarge, box[3] + 2 * enlarge];
  const [l, t, r, b] = clampedCorners(grown, img.width, img.height);
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
 * The outline as the ring between the ellipse and one shrunk by `thickness`, so the stroke lies inside
 * the box as Pillow's inward `width` does; when the box is thinner than two strokes it is a disc.
 */
function outlineSvg(img: RgbImage, ellipse: Ellipse, thickness: number): Buffer {
  const inner = { ...ellipse, rx: ellipse.rx - thickness, ry: ellipse.ry - thickness };
  const path = inner.rx > 0 && inner.ry > 0 ? `${ellipsePath(ellipse)} ${ellipsePath(inner)}` : ellipsePath(ellipse);
  return redShapeSvg(img, path);
}

/** `img` with a red outline of `thickness` pixels drawn on `ellipse`. */
export function withRedOutline(img: RgbImage, ellipse: Ellipse, thickness: number): Promise<RgbImage> {
  return fromSharp(toSharp(img).composite([{ input: outlineSvg(img, ellipse, thickness) }]));
}

/**
 * `outside` with `inside`'s pixels put back within the filled ellipse: the prompts that change what
 * lies outside the ellipse (blur, grayscale). Pillow's ellipse mask also gives the 1-px rim weight 76;
 * a binary mask is used here (under a red outline the rim is covered anyway).
 */
export async function insideEllipseFrom(inside: RgbImage, outside: RgbImage, ellipse: Ellipse): Promise<RgbImage> {
  // The original, opaque inside the ellipse and transparent outside it ('dest-in' keeps the base where
  // the SVG is opaque; the SVG's colour is irrelevant).
  const insideOnly = await toSharp(inside)
    .ensureAlpha()
    .composite([{ input: redShapeSvg(inside, ellipsePath(ellipse)), blend: 'dest-in' }])
    .raw()
    .toBuffer();
  return fromSharp(
    toSharp(outside).composite([
      { input: insideOnly, raw: { width: inside.width, height: inside.height, channels: 4 } },
    ]),
  );
}
