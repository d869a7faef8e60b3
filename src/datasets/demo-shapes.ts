import sharp from 'sharp';
import type { BoxXYWH } from '../image/box.js';
import { UserError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** What the synthetic demo sets draw: flat coloured shapes on a plain background. */

/** Far apart in RGB so a test (or a tiny model) can tell them apart from one pixel. */
const DEMO_COLOURS = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [235, 200, 30],
  purple: [140, 60, 180],
  orange: [245, 140, 30],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ColourName = keyof typeof DEMO_COLOURS;
export const COLOUR_NAMES = Object.keys(DEMO_COLOURS) as ColourName[];

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type ShapeName = (typeof SHAPES)[number];

/** Non-square sizes in both orientations, so aspect-ratio handling is exercised. */
export const IMAGE_SIZES: readonly (readonly [width: number, height: number])[] = [
  [256, 192],
  [192, 256],
  [288, 160],
  [224, 168],
];

const BACKGROUND = 'rgb(240,240,240)';

export interface DrawnShape {
  shape: ShapeName;
  colour: ColourName;
  /** Square bounding box, integer pixels. */
  box: BoxXYWH;
}

/** crispEdges: flat colours with no blended edge pixels, so every pixel inside a shape is exactly its colour. */
export async function renderShapesPng(shapes: readonly DrawnShape[], width: number, height: number): Promise<Buffer> {
  const elements = shapes.map(({ shape, colour, box: [x, y, s] }) => {
    const fill = `rgb(${DEMO_COLOURS[colour].join(',')})`;
    const outline: Record<ShapeName, string> = {
      circle: `<circle cx="${x + s / 2}" cy="${y + s / 2}" r="${s / 2}"`,
      square: `<rect x="${x}" y="${y}" width="${s}" height="${s}"`,
      triangle: `<polygon points="${x + s / 2},${y} ${x},${y + s} ${x + s},${y + s}"`,
    };
    return `${outline[shape]} fill="${fill}"/>`;
  });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" shape-rendering="crispEdges">` +
    `<rect width="${width}" height="${height}" fill="${BACKGROUND}"/>${elements.join('')}</svg>`;
  return sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
}

/** Uniform integer in [lo, hi]. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** Fisher–Yates on a copy. */
export function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const k = randInt(rng, 0, i);
    [out[i], out[k]] = [out[k]!, out[i]!];
  }
  return out;
}

/** A grid over the image (3×2 landscape, 2×3 portrait): one shape per cell, so shapes never overlap. */
export function shapeGrid(width: number, height: number): { cols: number; rows: number; cellW: number; cellH: number } {
  const [cols, rows] = width >= height ? [3, 2] : [2, 3];
  return { cols, rows, cellW: Math.floor(width / cols), cellH: Math.floor(height / rows) };
}

export function checkDemoOptions(images: number, seed: number): void {
  if (!Number.isInteger(images) || images < 1) throw new UserError(`--images ${images}: expected a positive integer`);
  if (!Number.isInteger(seed)) throw new UserError(`--seed ${seed}: expected an integer`);
}
