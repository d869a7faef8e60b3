import type { DatasetGenerator } from '../task-definition.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { iou, type BoxXYWH } from '../../image/box.js';
import { Rng } from '../../util/rng.js';
import type { DatasetInfo } from '../../datasets/dataset-info.js';
import { countRecSamples, type RecSample } from './rec-manifest.js';
import { type DatasetImport, ensureDataset, importDataset, writeDatasetFolder } from '../../datasets/dataset-store.js';
import {
  checkDemoOptions,
  COLOUR_NAMES,
  IMAGE_SIZES,
  randInt,
  renderShapesPng,
  shapeGrid,
  SHAPES,
  shuffle,
  type DrawnShape,
} from '../../datasets/demo-shapes.js';

export interface DemoSetOptions {
  /** Number of images (default 24). */
  images?: number;
  /** Same seed, same files, byte for byte (default 0). */
  seed?: number;
}

const PROPOSAL_JITTER = 3;

/** Generates the synthetic `demo/val` REC set: coloured shapes on a plain background, described by colour, shape and position. */
export function writeDemoSet(
  outRoot: string | undefined = undefined,
  opts: DemoSetOptions = {},
): Promise<{ dir: string; info: DatasetInfo }> {
  checkDemoOptions(opts.images ?? 24, opts.seed ?? 0);
  return importDataset('demo', 'val', outRoot, (target) => buildDemoSet(target, opts));
}

async function buildDemoSet(
  { dir, staging }: DatasetImport,
  opts: DemoSetOptions,
): Promise<{ dir: string; info: DatasetInfo }> {
  const imageCount = opts.images ?? 24;
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  await mkdir(join(staging, 'images'));
  const samples: RecSample[] = [];
  for (let i = 0; i < imageCount; i++) {
    const [width, height] = IMAGE_SIZES[i % IMAGE_SIZES.length]!;
    const shapes = placeShapes(rng, width, height);
    const image = `demo_${String(i).padStart(3, '0')}.png`;
    await writeFile(join(staging, 'images', image), await renderShapesPng(shapes, width, height));
    const gold = shapes.map((s, j) => ({ id: `${i}-${j}`, box: s.box }));
    const proposals = proposalsFor(rng, shapes, width, height);
    for (const j of pickRefs(rng, shapes.length)) {
      const id = `demo-${String(i).padStart(3, '0')}-${j}`;
      samples.push({
        id,
        image,
        width,
        height,
        sentences: describe(shapes, j, width, height).map((text, k) => ({ id: `${id}:${k}`, text })),
        gold,
        target_ids: [gold[j]!.id],
        proposals,
      });
    }
  }
  const written: DatasetInfo = {
    name: 'demo',
    split: 'val',
    task: 'rec',
    image_root: 'images',
    sources: [],
    counts: countRecSamples(samples),
    created_by: `falip data demo --images ${imageCount} --seed ${seed}`,
  };
  await writeDatasetFolder(staging, samples, written);
  return { dir, info: written };
}

/** 3–5 shapes in distinct colours, one per grid cell, so they never overlap. */
function placeShapes(rng: Rng, width: number, height: number): DrawnShape[] {
  const { cols, rows, cellW, cellH } = shapeGrid(width, height);
  const count = 3 + randInt(rng, 0, 2);
  const cells = shuffle(rng, [...Array(cols * rows).keys()]).slice(0, count);
  const colours = shuffle(rng, COLOUR_NAMES).slice(0, count);
  const cellMin = Math.min(cellW, cellH);
  return cells.map((cell, k) => {
    const side = randInt(rng, Math.floor(0.45 * cellMin), Math.floor(0.8 * cellMin));
    const x = (cell % cols) * cellW + randInt(rng, 0, cellW - side);
    const y = Math.floor(cell / cols) * cellH + randInt(rng, 0, cellH - side);
    return { shape: SHAPES[randInt(rng, 0, SHAPES.length - 1)]!, colour: colours[k]!, box: [x, y, side, side] };
  });
}

/** Each gold box moved by a few pixels, plus 1–2 background boxes, shuffled: the prop setting is not the gold one. */
function proposalsFor(rng: Rng, shapes: readonly DrawnShape[], width: number, height: number): BoxXYWH[] {
  const jitter = (): number => randInt(rng, -PROPOSAL_JITTER, PROPOSAL_JITTER);
  const boxes: BoxXYWH[] = shapes.map(({ box: [x, y, w, h] }) => {
    const left = Math.max(0, x + jitter());
    const top = Math.max(0, y + jitter());
    return [left, top, Math.min(width, x + w + jitter()) - left, Math.min(height, y + h + jitter()) - top];
  });
  const distractors = randInt(rng, 1, 2);
  // Bounded retries keep generation finite; the grid always leaves background, so this rarely gives up.
  for (let tries = 0; tries < 100 && boxes.length < shapes.length + distractors; tries++) {
    const w = randInt(rng, 16, 40);
    const h = randInt(rng, 16, 40);
    const box: BoxXYWH = [randInt(rng, 0, width - w), randInt(rng, 0, height - h), w, h];
    if (shapes.every((s) => iou(box, s.box) < 0.1)) boxes.push(box);
  }
  return shuffle(rng, boxes);
}

/** 2–3 of the image's shapes are referred to, in image order. */
function pickRefs(rng: Rng, shapeCount: number): number[] {
  const count = Math.min(shapeCount, 2 + randInt(rng, 0, 1));
  return shuffle(rng, [...Array(shapeCount).keys()])
    .slice(0, count)
    .sort((a, b) => a - b);
}

/**
 * Two unambiguous sentences: colour is unique within an image, so "the <colour> <shape>" names one shape;
 * the positional sentence drops the colour only when the shape alone is unique.
 */
function describe(shapes: readonly DrawnShape[], j: number, width: number, height: number): [string, string] {
  const { shape, colour, box } = shapes[j]!;
  const where = positionPhrase(box[0] + box[2] / 2, box[1] + box[3] / 2, width, height);
  const shapeIsUnique = shapes.filter((s) => s.shape === shape).length === 1;
  return [`the ${colour} ${shape}`, shapeIsUnique ? `the ${shape} ${where}` : `the ${colour} ${shape} ${where}`];
}

function positionPhrase(cx: number, cy: number, width: number, height: number): string {
  const horizontal = cx < width / 3 ? 'left' : cx > (2 * width) / 3 ? 'right' : undefined;
  const vertical = cy < height / 3 ? 'top' : cy > (2 * height) / 3 ? 'bottom' : undefined;
  if (horizontal && vertical) return `in the ${vertical} ${horizontal}`;
  if (horizontal) return `on the ${horizontal}`;
  if (vertical) return `at the ${vertical}`;
  return 'in the middle';
}

/** `falip data demo`; the default set is written on first use (`falip eval demo`, `falip sweep demo`). */
export const demoRecGenerator: DatasetGenerator = {
  summary:
    'generate the synthetic demo/val REC set (coloured shapes with sentences, gold boxes and proposals); deterministic per seed',
  defaultImages: 24,
  write: writeDemoSet,
  async ensure() {
    await ensureDataset('demo', 'val', (target) => buildDemoSet(target, {}));
  },
};
