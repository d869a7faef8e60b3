import type { DatasetGenerator } from '../task-definition.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BoxXYWH } from '../../image/box.js';
import { Rng } from '../../util/rng.js';
import type { DatasetInfo } from '../../datasets/dataset-info.js';
import { type DatasetImport, ensureDataset, importDataset } from '../../datasets/dataset-store.js';
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
import { countClsSamples, writeClsDataset, type ClsClasses, type ClsSample } from './cls-manifest.js';

export interface ClsDemoSetOptions {
  /** Number of images (default 48: every class at least twice). */
  images?: number;
  /** Same seed, same files, byte for byte (default 0). */
  seed?: number;
}

/** One class per colour × shape, colour-major: "red circle", "red square", "red triangle", "green circle", … */
export const CLS_DEMO_CLASS_NAMES: readonly string[] = COLOUR_NAMES.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));

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
export function writeClsDemoSet(
  outRoot: string | undefined = undefined,
  opts: ClsDemoSetOptions = {},
): Promise<{ dir: string; info: DatasetInfo }> {
  checkDemoOptions(opts.images ?? 48, opts.seed ?? 0);
  return importDataset('demo-cls', 'val', outRoot, (target) => buildClsDemoSet(target, opts));
}

async function buildClsDemoSet(
  { dir, staging }: DatasetImport,
  opts: ClsDemoSetOptions,
): Promise<{ dir: string; info: DatasetInfo }> {
  const imageCount = opts.images ?? 48;
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const labels = balancedLabels(rng, imageCount);
  await mkdir(join(staging, 'images'));
  const samples: ClsSample[] = [];
  for (let i = 0; i < imageCount; i++) {
    const [width, height] = IMAGE_SIZES[i % IMAGE_SIZES.length]!;
    const shapes = placeShapes(rng, labels[i]!, width, height);
    const image = `demo_cls_${String(i).padStart(3, '0')}.png`;
    await writeFile(join(staging, 'images', image), await renderShapesPng(shapes.map(drawnShape), width, height));
    samples.push({
      id: `demo-cls-${String(i).padStart(3, '0')}`,
      image,
      width,
      height,
      label: labels[i]!,
      box: shapes[0]!.box,
    });
  }
  const written: DatasetInfo = {
    name: 'demo-cls',
    split: 'val',
    task: 'classification',
    image_root: 'images',
    sources: [],
    counts: countClsSamples(samples, CLASSES),
    created_by: `demo-cls generator --images ${imageCount} --seed ${seed}`,
  };
  await writeClsDataset(staging, samples, CLASSES, written);
  return { dir, info: written };
}

const CLASSES: ClsClasses = {
  names: [...CLS_DEMO_CLASS_NAMES],
  template: 'a photo of a {}.',
  names_source: 'generated: colour × shape of the drawn figure',
  template_source: "CLIP's plain template",
};

/** A class's drawing: colour-major labels, as the class names are. */
function drawnShape({ label, box }: Shape): DrawnShape {
  return { colour: COLOUR_NAMES[Math.floor(label / SHAPES.length)]!, shape: SHAPES[label % SHAPES.length]!, box };
}

/** Every class in turn, each round in a fresh random order, so the classes stay balanced at any size. */
function balancedLabels(rng: Rng, count: number): number[] {
  const labels: number[] = [];
  while (labels.length < count) labels.push(...shuffle(rng, [...CLS_DEMO_CLASS_NAMES.keys()]));
  return labels.slice(0, count);
}

/** The labelled shape first, then 1–2 distractors of other classes, one per grid cell so none overlap. */
function placeShapes(rng: Rng, label: number, width: number, height: number): Shape[] {
  const { cols, rows, cellW, cellH } = shapeGrid(width, height);
  const cellMin = Math.min(cellW, cellH);
  const others = shuffle(
    rng,
    [...CLS_DEMO_CLASS_NAMES.keys()].filter((l) => l !== label),
  );
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

/** `falip data demo-cls`; the default set is written on first use. */
export const demoClsGenerator: DatasetGenerator = {
  summary:
    'generate the synthetic demo-cls/val classification set (one labelled shape per image, named by colour and kind, with distractors); deterministic per seed',
  defaultImages: 48,
  write: writeClsDemoSet,
  async ensure() {
    await ensureDataset('demo-cls', 'val', (target) => buildClsDemoSet(target, {}));
  },
};
