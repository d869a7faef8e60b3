import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRecDataset } from '../../src/tasks/rec/check-rec.js';
import { readDatasetInfo } from '../../src/datasets/dataset-info.js';
import { writeDemoSet } from '../../src/tasks/rec/demo-set.js';
import { readRecManifest, type RecSample } from '../../src/tasks/rec/rec-manifest.js';
import { COLOUR_WORDS, colourWordAt, shapeAt, type Decoded } from '../helpers/demo-pixels.js';

const SHAPE_WORDS = ['circle', 'square', 'triangle'];

let rootA: string;
let rootB: string;

beforeAll(async () => {
  rootA = await mkdtemp(join(tmpdir(), 'falip-demo-a-'));
  rootB = await mkdtemp(join(tmpdir(), 'falip-demo-b-'));
  await writeDemoSet(rootA, { images: 8, seed: 5 });
  await writeDemoSet(rootB, { images: 8, seed: 5 });
});

afterAll(async () => {
  await rm(rootA, { recursive: true, force: true });
  await rm(rootB, { recursive: true, force: true });
});

const demoDir = (root: string): string => join(root, 'demo', 'val');

describe('writeDemoSet', () => {
  it('is deterministic: the same seed gives byte-identical manifest and images', async () => {
    const [a, b] = [demoDir(rootA), demoDir(rootB)];
    expect(await readFile(join(a, 'manifest.jsonl'))).toEqual(await readFile(join(b, 'manifest.jsonl')));
    expect(await readFile(join(a, 'dataset.json'))).toEqual(await readFile(join(b, 'dataset.json')));
    const names = (await readdir(join(a, 'images'))).sort();
    expect(names).toHaveLength(8);
    expect((await readdir(join(b, 'images'))).sort()).toEqual(names);
    for (const name of names)
      expect(await readFile(join(a, 'images', name))).toEqual(await readFile(join(b, 'images', name)));
  });

  it('gives a different set for another seed, and regenerating leaves no stale images', async () => {
    const root = await mkdtemp(join(tmpdir(), 'falip-demo-c-'));
    try {
      await writeDemoSet(root, { images: 6, seed: 6 });
      await writeDemoSet(root, { images: 3, seed: 6 });
      expect(await readdir(join(demoDir(root), 'images'))).toHaveLength(3);
      const other = await readFile(join(demoDir(root), 'manifest.jsonl'), 'utf8');
      const mine = await readFile(join(demoDir(rootA), 'manifest.jsonl'), 'utf8');
      expect(other.split('\n')[0]).not.toEqual(mine.split('\n')[0]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('describes each target unambiguously by the colour and shape actually drawn', async () => {
    const dir = demoDir(rootA);
    const samples = await readRecManifest(join(dir, 'manifest.jsonl'));
    const decoded = new Map<string, Decoded>();
    let checkedColourWords = 0;
    for (const s of samples) {
      if (!decoded.has(s.image)) {
        const { data, info } = await sharp(join(dir, 'images', s.image))
          .raw()
          .toBuffer({ resolveWithObject: true });
        expect(info).toMatchObject({ width: s.width, height: s.height, channels: 3 });
        decoded.set(s.image, { width: info.width, data });
      }
      const img = decoded.get(s.image)!;
      const drawn = s.gold.map((g) => {
        const [x, y, w, h] = g.box;
        return { id: g.id, colour: colourWordAt(img, x + w / 2, y + h / 2), shape: shapeAt(img, g.box) };
      });
      expect(s.target_ids).toHaveLength(1);
      for (const { text } of s.sentences) {
        const words = text.split(' ');
        const colour = words.find((w) => w in COLOUR_WORDS);
        const shape = words.find((w) => SHAPE_WORDS.includes(w));
        expect(shape, text).toBeDefined();
        // Exactly the target matches what the sentence says.
        const matching = drawn.filter((d) => d.shape === shape && (colour === undefined || d.colour === colour));
        expect(
          matching.map((d) => d.id),
          `${s.id}: "${text}"`,
        ).toEqual(s.target_ids);
        if (colour) checkedColourWords++;
      }
    }
    expect(checkedColourWords).toBeGreaterThanOrEqual(samples.length);
  });

  it('records counts that match the manifest, with proposals that differ from gold', async () => {
    const dir = demoDir(rootA);
    const samples: RecSample[] = await readRecManifest(join(dir, 'manifest.jsonl'));
    const info = await readDatasetInfo(dir);
    expect(info).toMatchObject({ name: 'demo', split: 'val', task: 'rec', image_root: 'images' });
    expect(info.counts.images).toBe(8);
    expect(info.counts.refs).toBe(samples.length);
    expect(samples.length).toBeGreaterThanOrEqual(16);
    expect(samples.length).toBeLessThanOrEqual(24);
    expect(info.counts.sentences).toBe(2 * samples.length);
    for (const s of samples) {
      expect(s.gold.length).toBeGreaterThanOrEqual(3);
      expect(s.gold.length).toBeLessThanOrEqual(5);
      expect(s.proposals!.length).toBeGreaterThan(s.gold.length);
    }
    expect(new Set(samples.map((s) => `${s.width}x${s.height}`)).size).toBeGreaterThan(1);

    const report = await checkRecDataset(dir);
    expect(report).toMatchObject({ ok: true, errors: [], warnings: [] });
    expect(report.counts.gold_per_image.min).toBeGreaterThanOrEqual(3);
  });
});
