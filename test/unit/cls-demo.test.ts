import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkClsDataset } from '../../src/tasks/classification/check-cls.js';
import { readClasses, readClsManifest, type ClsSample } from '../../src/tasks/classification/cls-manifest.js';
import { demoClsGenerator, writeClsDemoSet } from '../../src/tasks/classification/demo-cls.js';
import { readDatasetInfo } from '../../src/datasets/dataset-info.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { colourWordAt, shapeAt } from '../helpers/demo-pixels.js';

const dirs = useTempFalipDirs('falip-cls-demo-');

describe('demo-cls/val', () => {
  let samples: ClsSample[];
  let names: string[];
  let dirA: string;

  beforeAll(async () => {
    dirA = (await writeClsDemoSet(join(dirs.root(), 'a'), { images: 20, seed: 3 })).dir;
    await writeClsDemoSet(join(dirs.root(), 'b'), { images: 20, seed: 3 });
    await writeClsDemoSet(join(dirs.root(), 'c'), { images: 20, seed: 4 });
    samples = await readClsManifest(join(dirA, 'manifest.jsonl'));
    names = (await readClasses(dirA)).names;
  });

  it('is byte-identical for the same seed and differs for another', async () => {
    const files = (root: string): string => join(dirs.root(), root, 'demo-cls', 'val');
    expect(await readFile(join(files('b'), 'manifest.jsonl'), 'utf8')).toBe(
      await readFile(join(dirA, 'manifest.jsonl'), 'utf8'),
    );
    for (const image of await readdir(join(dirA, 'images'))) {
      expect(
        (await readFile(join(files('b'), 'images', image))).equals(await readFile(join(dirA, 'images', image))),
      ).toBe(true);
    }
    expect(await readFile(join(files('c'), 'manifest.jsonl'), 'utf8')).not.toBe(
      await readFile(join(dirA, 'manifest.jsonl'), 'utf8'),
    );
  });

  it('has 18 colour × shape classes, the plain template, and passes data check', async () => {
    expect(names).toHaveLength(18);
    expect(names.slice(0, 4)).toEqual(['red circle', 'red square', 'red triangle', 'green circle']);
    const classes = await readClasses(dirA);
    expect(classes.template).toBe('a photo of a {}.');
    expect((await readDatasetInfo(dirA)).counts).toEqual({ images: 20, classes: 18 });
    // 20 images over 18 classes: a full round, then two more.
    expect(new Set(samples.map((s) => s.label)).size).toBe(18);
    expect(await checkClsDataset(dirA)).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  it('draws the labelled shape in its box, in its class colour, with a distractor outside the box', async () => {
    for (const s of samples) {
      const [x, y, w, h] = s.box;
      expect(x >= 0 && y >= 0 && x + w <= s.width && y + h <= s.height).toBe(true);
      const { data, info } = await sharp(join(dirA, 'images', s.image))
        .raw()
        .toBuffer({ resolveWithObject: true });
      const img = { width: info.width, data };
      const [colour, shape] = names[s.label]!.split(' ');
      expect(colourWordAt(img, x + w / 2, y + h / 2)).toBe(colour);
      expect(shapeAt(img, s.box)).toBe(shape);
      let distractorPixels = 0;
      for (let py = 0; py < info.height; py++) {
        for (let px = 0; px < info.width; px++) {
          const inBox = px >= x && px < x + w && py >= y && py < y + h;
          if (!inBox && colourWordAt(img, px, py) !== 'background') distractorPixels++;
        }
      }
      expect(distractorPixels).toBeGreaterThan(100);
    }
  });

  it('demoClsGenerator.ensure writes the default set into the datasets folder on first use only', async () => {
    await demoClsGenerator.ensure();
    const dir = join(dirs.root(), 'datasets', 'demo-cls', 'val');
    const first = await readFile(join(dir, 'manifest.jsonl'), 'utf8');
    expect(first.trim().split('\n')).toHaveLength(48);
    await demoClsGenerator.ensure();
    expect(await readFile(join(dir, 'manifest.jsonl'), 'utf8')).toBe(first);
  });
});
