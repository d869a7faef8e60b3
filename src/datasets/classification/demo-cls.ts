import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { BoxXYWH } from '../../image/box.js';
import { UserError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { DATASET_INFO_FILE, type DatasetInfo } from '../dataset-info.js';
import { datasetDir, datasetsRoot } from '../dataset-store.js';
import { DEMO_COLOURS } from '../demo-set.js';
import { countClsSamples, writeClsDataset, type ClsClasses, type ClsSample } from './cls-manifest.js';

export interface ClsDemoSetOptions {
  /** Number of images (default 48: every class at least twice). */
  images?: number;
  /** Same seed, same files, byte for byte (default 0). */
  seed?: number;
}

type ColourName = keyof typeof DEMO_COLOURS;
const COLOURS = Object.keys(DEMO_COLOURS) as ColourName[];
const SHAPES = ['circle', 'square', 'triangle'] as const;
type ShapeName = (typeof SHAPES)[number];

/** One class per colour × shape, colour-major: "red circle", "red square", "red triangle", "green circle", … */
export const CLS_DEMO_CLASS_NAMES: readonly string[] = COLOURS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));

/** Non-square sizes in both orientations, so aspect-ratio handling is exercised. */
const IMAGE_SIZES: readonly (readonly [width: number, height: number])[] = [
  [256, 192],
  [192, 256],
  [288, 160],
  [224, 168],
];
const BACKGROUND = 'rgb(240,240,240)';

interface Shape {
  label: number;
  /** Square bounding box, integer pixels. */
  box: BoxXYWH;
}

/**
 * Generates the synthetic `demo-cls/val` classification set: each image shows one labelled shape
 * (its box is the record's box) and one or two distractor shapes of other classes, so the whole
 * image is ambiguous and only the box says which shape is meant.
 */
export async function writeClsDemoSet(outRoot: string = datasetsRoot(), opts: ClsDemoSetOptions = {}): Promise<{ dir: string; info: DatasetInfo }> {
  const imageCount = opts.images ?? 48;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(imageCount) || imageCount < 1) throw new UserError(`--images ${imageCount}: expected a positive integer`);
  if (!Number.isInteger(seed)) throw new UserError(`--seed ${seed}: expected an integer`);

  const rng = new Rng(seed);
  const dir = datasetDir('demo-cls', 'val', outRoot);
  // Built beside the target and swapped in, so a smaller regeneration leaves no stale images behind.
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'images'), { recursive: true });

  const labels = balancedLabels(rng, imageCount);
  const samples: ClsSample[] = [];
  for (let i = 0; i < imageCount; i++) {
    const [width, height] = IMAGE_SIZES[i % IMAGE_SIZES.length]!;
    const shapes = placeShapes(rng, labels[i]!, width, height);
    const image = `demo_cls_${String(i).padStart(3, '0')}.png`;
    await writeFile(join(staging, 'images', image), await renderPng(shapes, width, height));
    samples.push({ id: `demo-cls-${String(i).padStart(3, '0')}`, image, width, height, label: labels[i]!, box: shapes[0]!.box });
  }

  const classes: ClsClasses = {
    names: [...CLS_DEMO_CLASS_NAMES],
    template: 'a photo of a {}.',
    names_source: 'generated: colour × shape of the drawn figure',
    template_source: "CLIP's plain template",
  };
  const info: DatasetInfo = {
    name: 'demo-cls',
    split: 'val',
    task: 'classification',
    image_root: 'images',
    sources: [],
    counts: countClsSamples(samples, classes),
    created_by: `demo-cls generator --images ${imageCount} --seed ${seed}`,
  };
  await writeClsDataset(staging, samples, classes, info);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return { dir, info };
}

/** Every class in turn, each round in a fresh random order, so the classes stay balanced at any size. */
function balancedLabels(rng: Rng, count: number): number[] {
  const labels: number[] = [];
  while (labels.length < count) labels.push(...shuffle(rng, [...CLS_DEMO_CLASS_NAMES.keys()]));
  return labels.slice(0, count);
}

/** The labelled shape first, then 1–2 distractors of other classes, one per grid cell so none overlap. */
function placeShapes(rng: Rng, label: number, width: number, height: number): Shape[] {
  const [cols, rows] = width >= height ? [3, 2] : [2, 3];
  const cellW = Math.floor(width / cols);
  const cellH = Math.floor(height / rows);
  const cellMin = Math.min(cellW, cellH);
  const others = shuffle(rng, [...CLS_DEMO_CLASS_NAMES.keys()].filter((l) => l !== label));
  const shapeLabels = [label, ...others.slice(0, randInt(rng, 1, 2))];
  const cells = shuffle(rng, [...Array(cols * rows).keys()]);
  return shapeLabels.map((l, k) => {
    const side = randInt(rng, Math.floor(0.5 * cellMin), Math.floor(0.85 * cellMin));
    const cell = cells[k]!;
    const x = (cell % cols) * cellW + randInt(rng, 0, cellW - side);
    const y = Math.floor(cell / cols) * cellH + randInt(rng, 0, cellH - side);
    return { label: l, box: [x, y, side, side] };
  });
}

/** crispEdges: flat colours with no blended edge pixels, so every pixel inside a shape is exactly its colour. */
async function renderPng(shapes: readonly Shape[], width: number, height: number): Promise<Buffer> {
  const elements = shapes.map(({ label, box: [x, y, s] }) => {
    const colour = COLOURS[Math.floor(label / SHAPES.length)]!;
    const shape: ShapeName = SHAPES[label % SHAPES.length]!;
    const fill = `rgb(${DEMO_COLOURS[colour].join(',')})`;
    switch (shape) {
      case 'circle':
        return `<circle cx="${x + s / 2}" cy="${y + s / 2}" r="${s / 2}" fill="${fill}"/>`;
      case 'square':
        return `<rect x="${x}" y="${y}" width="${s}" height="${s}" fill="${fill}"/>`;
      case 'triangle':
        return `<polygon points="${x + s / 2},${y} ${x},${y + s} ${x + s},${y + s}" fill="${fill}"/>`;
    }
  });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" shape-rendering="crispEdges">` +
    `<rect width="${width}" height="${height}" fill="${BACKGROUND}"/>${elements.join('')}</svg>`;
  return sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
}

/** Uniform integer in [lo, hi]. */
function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** Fisher–Yates on a copy. */
function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const k = randInt(rng, 0, i);
    [out[i], out[k]] = [out[k]!, out[i]!];
  }
  return out;
}

/** The classification demo set with default options, written on first use. */
export async function ensureClsDemoSet(): Promise<void> {
  if (!existsSync(join(datasetDir('demo-cls', 'val'), DATASET_INFO_FILE))) await writeClsDemoSet();
}
