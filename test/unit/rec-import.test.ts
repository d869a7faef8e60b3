import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRecDataset } from '../../src/tasks/rec/check-rec.js';
import { readDatasetInfo } from '../../src/datasets/dataset-info.js';
import { listDatasets, requireDataset } from '../../src/datasets/dataset-store.js';
import { importReclip, reclipImageFile } from '../../src/tasks/rec/reclip-import.js';
import { taskOfDataset } from '../../src/tasks/registry.js';
import { readRecManifest } from '../../src/tasks/rec/rec-manifest.js';
import { UserError } from '../../src/util/errors.js';
import { writeJpeg } from '../helpers/cls-release-fixtures.js';
import { writeDatasetFile } from '../helpers/dataset-files.js';

let work: string;
let images: string;

/** A refer-style ann: FALIP reads bbox, id and segmentation. */
function ann(id: number, bbox: number[]): object {
  return {
    id,
    bbox,
    segmentation: [[bbox[0], bbox[1], bbox[0]! + 1, bbox[1], bbox[0], bbox[1]! + 1]],
    area: 1,
    category_id: 1,
  };
}

const REFS = [
  {
    ref_id: 101,
    file_name: 'COCO_train2014_000000000001_101.jpg',
    image_id: 1,
    anns: [ann(11, [2, 3, 20, 10]), ann(12, [30, 10, 25.5, 30])],
    ann_id: 12,
    sentences: [{ raw: 'The Right Thing', sent_id: 7 }, { raw: 'tall box' }],
    split: 'testA',
  },
  {
    ref_id: 102,
    file_name: 'COCO_train2014_000000000001_102.jpg',
    image_id: 1,
    anns: [ann(11, [2, 3, 20, 10]), ann(12, [30, 10, 25.5, 30])],
    ann_id: [11],
    sentences: [{ raw: 'left one' }],
  },
  {
    // No ref_id: the line number becomes the ref id.
    file_name: 'COCO_train2014_000000000002_7.jpg',
    image_id: '2',
    anns: [ann(21, [0, 0, 40, 30])],
    ann_id: '21',
    sentences: [{ raw: 'everything' }],
  },
];

async function writeJsonl(name: string, lines: readonly (object | string)[]): Promise<string> {
  const path = join(work, name);
  await writeFile(path, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  return path;
}

/** A flat-colour JPEG in the images folder. */
const writeImage = (name: string, width: number, height: number): Promise<void> =>
  writeJpeg(join(images, name), width, height);

const sha256 = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'falip-rec-import-'));
  images = join(work, 'train2014');
  await mkdir(images);
  await writeImage('COCO_train2014_000000000001.jpg', 64, 48);
  await writeImage('COCO_train2014_000000000002.jpg', 40, 30);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('importReclip', () => {
  it('writes one manifest line per ref with gold, targets, sentences, sizes and proposals', async () => {
    const jsonl = await writeJsonl('refcoco_testA.jsonl', REFS);
    // Extra elements (score, class) are ignored; keys compare as integers; an empty list falls back to the full image.
    const dets = join(work, 'refcoco_dets_dict.json');
    await writeFile(
      dets,
      JSON.stringify({
        '1': [
          [1, 2, 10, 10, 0.9],
          [30, 10, 24, 29, 0.8, 'person'],
        ],
        '0002': [],
      }),
    );
    const outRoot = join(work, 'datasets');

    const result = await importReclip({ dataset: 'refcoco', jsonl, dets, images, split: 'testA', outRoot });

    expect(result.dir).toBe(join(outRoot, 'refcoco', 'testA'));
    expect(result.warnings).toEqual([]);
    expect(result.fullImageFallbacks).toBe(1);
    const samples = await readRecManifest(join(result.dir, 'manifest.jsonl'));
    expect(samples).toHaveLength(3);
    expect(samples[0]).toEqual({
      id: '101',
      image: 'COCO_train2014_000000000001.jpg',
      width: 64,
      height: 48,
      sentences: [
        { id: '101:0', text: 'The Right Thing' },
        { id: '101:1', text: 'tall box' },
      ],
      gold: [
        { id: '11', box: [2, 3, 20, 10] },
        { id: '12', box: [30, 10, 25.5, 30] },
      ],
      target_ids: ['12'],
      proposals: [
        [1, 2, 10, 10],
        [30, 10, 24, 29],
      ],
    });
    expect(samples[1]!.target_ids).toEqual(['11']);
    expect(samples[2]).toMatchObject({
      id: '3',
      image: 'COCO_train2014_000000000002.jpg',
      width: 40,
      height: 30,
      target_ids: ['21'],
    });
    expect(samples[2]!.sentences).toEqual([{ id: '3:0', text: 'everything' }]);
    expect(samples[2]!.proposals).toEqual([[0, 0, 40, 30]]);

    const info = await readDatasetInfo(result.dir);
    expect(info).toMatchObject({ name: 'refcoco', split: 'testA', task: 'rec', image_root: images });
    expect(info.counts).toEqual({ refs: 3, sentences: 4, images: 2, gold_boxes: 3, proposals: 3 });
    expect(info.sources).toEqual([
      { file: jsonl, sha256: await sha256(jsonl) },
      { file: dets, sha256: await sha256(dets) },
    ]);

    expect((await listDatasets(outRoot)).map((d) => `${d.info.name}/${d.info.split}`)).toEqual(['refcoco/testA']);
    expect((await requireDataset('refcoco', 'testA', outRoot)).dir).toBe(result.dir);
    const report = await checkRecDataset(result.dir);
    expect(report).toMatchObject({ ok: true, errors: [], warnings: [] });
    expect(report.counts).toMatchObject({
      refs: 3,
      sentences: 4,
      images: 2,
      gold_per_image: { mean: 1.5, min: 1, max: 2 },
    });
  });

  it('without a detector file writes the gold setting only', async () => {
    const jsonl = await writeJsonl('gold-only.jsonl', REFS);
    const result = await importReclip({
      dataset: 'refcoco+',
      jsonl,
      images,
      split: 'val',
      outRoot: join(work, 'gold-only'),
    });
    const samples = await readRecManifest(join(result.dir, 'manifest.jsonl'));
    expect(samples.every((s) => s.proposals === undefined)).toBe(true);
    expect(result.info.counts.proposals).toBeUndefined();
    expect(result.info.sources).toHaveLength(1);
  });

  it('keeps non-COCO file names as they are', () => {
    expect(reclipImageFile('coco_val_000123_4.jpg')).toBe('coco_val_000123.jpg');
    expect(reclipImageFile('gta_00017.png')).toBe('gta_00017.png');
  });

  it('names a missing dataset, and the REC task knows the import command to run', async () => {
    await expect(requireDataset('refcocog', 'test', join(work, 'empty'))).rejects.toThrow(
      'dataset refcocog/test is not imported (see falip data import --help)',
    );
    expect(taskOfDataset('refcocog')!.dataset.importCommand('test')).toBe(
      'falip data import refcocog --reclip-jsonl FILE --images DIR --split test',
    );
  });
});

describe('EXPECTED FAILURE: bad input is reported as file:line: field', () => {
  const outRoot = (): string => join(work, 'bad');

  it('rejects a line that is not JSON', async () => {
    const jsonl = await writeJsonl('broken.jsonl', [REFS[0]!, '{"file_name": "COCO_x_1.jpg", ']);
    await expect(importReclip({ dataset: 'refcoco', jsonl, images, split: 'x', outRoot: outRoot() })).rejects.toThrow(
      /broken\.jsonl:2: \(line\): not valid JSON/,
    );
  });

  it('rejects a bbox that is not 4 numbers and a missing field', async () => {
    const badBox = { ...REFS[0]!, anns: [ann(11, [2, 3, 20, 10]), ann(12, [30, 10, 25])] };
    let jsonl = await writeJsonl('bad-box.jsonl', [REFS[1]!, badBox]);
    await expect(importReclip({ dataset: 'refcoco', jsonl, images, split: 'x', outRoot: outRoot() })).rejects.toThrow(
      'bad-box.jsonl:2: anns[1].bbox: expected 4 numbers',
    );
    const { sentences: _dropped, ...noSentences } = REFS[0]!;
    jsonl = await writeJsonl('no-sentences.jsonl', [noSentences]);
    const err = await importReclip({ dataset: 'refcoco', jsonl, images, split: 'x', outRoot: outRoot() }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`${jsonl}:1: sentences: missing`);
  });

  it('rejects a ref whose image is missing, naming the line and the path', async () => {
    const jsonl = await writeJsonl('missing-image.jsonl', [
      REFS[0]!,
      { ...REFS[2]!, file_name: 'COCO_train2014_000000000099_3.jpg' },
    ]);
    await expect(importReclip({ dataset: 'refcoco', jsonl, images, split: 'x', outRoot: outRoot() })).rejects.toThrow(
      `missing-image.jsonl:2: file_name: image not found: ${join(images, 'COCO_train2014_000000000099.jpg')}`,
    );
  });

  it('keeps a zero-area gold box with a warning (it never competes), and data check warns the same', async () => {
    const zero = { ...REFS[0]!, anns: [ann(11, [2, 3, 20, 10]), ann(12, [30, 10, 25.5, 30]), ann(13, [5, 5, 0, 8])] };
    const jsonl = await writeJsonl('zero.jsonl', [zero]);
    const result = await importReclip({ dataset: 'refcoco', jsonl, images, split: 'zero', outRoot: outRoot() });
    expect(result.warnings).toEqual([`${jsonl}:1: anns[2].bbox: zero-area box [5, 5, 0, 8] (kept)`]);
    const [sample] = await readRecManifest(join(result.dir, 'manifest.jsonl'));
    expect(sample!.gold.map((g) => g.id)).toEqual(['11', '12', '13']);

    const report = await checkRecDataset(result.dir);
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([
      `${join(result.dir, 'manifest.jsonl')}:1: gold[2].box: zero-area box [5, 5, 0, 8]`,
    ]);
  });

  it('refuses at import a box that lies entirely outside its image', async () => {
    const outside = { ...REFS[0]!, anns: [ann(11, [100, 60, 10, 10]), ann(12, [60, 40, 10, 10])] };
    const jsonl = await writeJsonl('outside-import.jsonl', [outside]);
    await expect(
      importReclip({ dataset: 'refcoco', jsonl, images, split: 'outside-import', outRoot: outRoot() }),
    ).rejects.toThrow(
      new UserError(`${jsonl}:1: anns[0].bbox: box [100, 60, 10, 10] lies entirely outside the 64×48 image`),
    );
  });

  it('data check finds boxes outside the image, a wrong recorded size and an unknown target', async () => {
    const jsonl = await writeJsonl('outside.jsonl', [REFS[0]!, REFS[2]!]);
    const result = await importReclip({ dataset: 'refcoco', jsonl, images, split: 'outside', outRoot: outRoot() });
    const manifest = join(result.dir, 'manifest.jsonl');
    // Hand-edit the manifest as a broken converter might: boxes outside the image, a target not among the gold ids.
    const lines = (await readFile(manifest, 'utf8')).trim().split('\n');
    const first = JSON.parse(lines[0]!);
    first.gold[0].box = [100, 60, 10, 10];
    first.gold[1].box = [60, 40, 10, 10];
    lines[0] = JSON.stringify(first);
    lines[1] = lines[1]!.replace('"target_ids":["21"]', '"target_ids":["99"]');
    writeDatasetFile(result.dir, 'manifest.jsonl', `${lines.join('\n')}\n`);
    // The image changes size after import: the recorded size no longer matches.
    await writeImage('COCO_train2014_000000000002.jpg', 41, 30);
    try {
      const report = await checkRecDataset(result.dir);
      expect(report.ok).toBe(false);
      expect(report.errors).toEqual([
        `${manifest}:1: gold[0].box: box [100, 60, 10, 10] lies entirely outside the 64×48 image`,
        `${manifest}:2: target_ids: 99 is not a gold id`,
        `${manifest}:2: width/height: recorded 40×30, ${join(images, 'COCO_train2014_000000000002.jpg')} is 41×30`,
      ]);
      expect(report.warnings).toEqual([
        `${manifest}:1: gold[1].box: box [60, 40, 10, 10] extends outside the 64×48 image`,
      ]);
    } finally {
      await writeImage('COCO_train2014_000000000002.jpg', 40, 30);
    }
  });

  it('readRecManifest names the file, line and field of a bad line', async () => {
    const path = join(work, 'manifest.jsonl');
    const good = {
      id: 'a',
      image: 'x.png',
      width: 4,
      height: 4,
      sentences: [{ id: 'a:0', text: 't' }],
      gold: [{ id: '1', box: [0, 0, 2, 2] }],
      target_ids: ['1'],
    };
    const bad = { ...good, id: 'b', gold: [{ id: '1', box: [0, 0, 2] }] };
    await writeFile(path, `${JSON.stringify(good)}\n\n${JSON.stringify(bad)}\n`);
    await expect(readRecManifest(path)).rejects.toThrow(`${path}:3: gold[0].box: expected 4 numbers`);
  });
});
