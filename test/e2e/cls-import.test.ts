import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDatasetInfo } from '../../src/datasets/dataset-info.js';
import { checkClsDataset } from '../../src/tasks/classification/check-cls.js';
import { readClasses, readClsManifest } from '../../src/tasks/classification/cls-manifest.js';
import { importCub } from '../../src/tasks/classification/importers/cub-import.js';
import { importImageNetS } from '../../src/tasks/classification/importers/imagenet-s-import.js';
import { readImageNetSClassList } from '../../src/tasks/classification/importers/imagenet-s-classes.js';
import { combineBoxes, importStanfordDogs } from '../../src/tasks/classification/importers/stanforddogs-import.js';
import { importWaterbirds } from '../../src/tasks/classification/importers/waterbirds-import.js';
import { classificationTask } from '../../src/tasks/classification/index.js';
import { allImporters } from '../../src/tasks/registry.js';

const findImporter = (name: string) => allImporters().find((i) => i.name === name);
import { REPO_ROOT } from '../../src/util/repo-paths.js';
import {
  CUB_IMAGES,
  cubLists,
  type CubFile,
  DOG_IMAGES,
  dogXml,
  waterbirdsMetadata,
  writeCubRelease,
  writeDogsRelease,
  writeIdMask,
  writeJpeg,
  writeWaterbirdsRelease,
} from '../helpers/cls-release-fixtures.js';
import { runFalip } from '../helpers/cli.js';
import { userErrorMessage } from '../helpers/errors.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-cls-import-');
const work = (...parts: string[]): string => join(dirs.root(), ...parts);
const sha256 = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/** A copy of the CUB fixture whose lists are edited; the images are shared through a symlink. */
async function cubVariant(name: string, edit: Partial<Record<CubFile, string | Uint8Array>>): Promise<string> {
  const root = work('variants', name);
  await writeCubRelease(root, edit, false);
  await symlink(work('CUB_200_2011', 'images'), join(root, 'images'));
  return root;
}

beforeAll(async () => {
  await writeCubRelease(work('CUB_200_2011'));
  await writeWaterbirdsRelease(work('waterbirds'));
  await writeDogsRelease(work('dogs'));
});

describe('CUB-200-2011', () => {
  it('imports all images with labels, boxes, names and the bird template (classes.txt has a BOM)', async () => {
    const cub = work('CUB_200_2011');
    const report = await importCub({ root: cub, split: 'all', outRoot: work('out') });
    expect(report.dir).toBe(work('out', 'cub', 'all'));
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => s.id)).toEqual(CUB_IMAGES.map((i) => String(i.id)));
    expect(samples.map((s) => s.label)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(samples[0]).toEqual({
      id: '1',
      image: '001.Black_footed_Albatross/Black_footed_Albatross_0001.jpg',
      width: 40,
      height: 30,
      label: 0,
      box: [2.5, 2, 12.25, 10],
      source_split: 'test',
    });
    expect(samples[1]).toMatchObject({ width: 30, height: 40, box: [3.5, 2, 12.25, 10], source_split: 'train' });
    // [20, 30, 15, 20] on a 30×40 image, cut to the image.
    expect(samples[9]!.box).toEqual([20, 30, 10, 10]);
    expect(report.warnings).toEqual([
      `${join(cub, 'bounding_boxes.txt')}:10: box: box [20, 30, 15, 20] extends outside the 30×40 image; clamped to [20, 30, 10, 10]`,
    ]);
    expect(report.notes).toEqual([
      "10 images, 5 classes: differs from the paper's Table 8 (11,788 images, 200 classes)",
    ]);

    const classes = await readClasses(report.dir);
    expect(classes.names).toEqual([
      'Black footed Albatross',
      'Laysan Albatross',
      'Sooty Albatross',
      'Groove billed Ani',
      'Crested Auklet',
    ]);
    expect(classes.template).toBe('a photo of a {}, a type of bird.');
    expect(classes.source_ids![0]).toBe('001.Black_footed_Albatross');

    const info = await readDatasetInfo(report.dir);
    expect(info).toMatchObject({
      name: 'cub',
      split: 'all',
      task: 'classification',
      image_root: join(cub, 'images'),
      counts: { images: 10, classes: 5 },
    });
    expect(info.sources).toEqual(
      await Promise.all(
        ['classes.txt', 'images.txt', 'image_class_labels.txt', 'train_test_split.txt', 'bounding_boxes.txt'].map(
          async (f) => ({
            file: join(cub, f),
            sha256: await sha256(join(cub, f)),
          }),
        ),
      ),
    );
    expect(await checkClsDataset(report.dir)).toMatchObject({
      ok: true,
      errors: [],
      warnings: [],
      counts: { images: 10, classes: 5, classes_with_images: 5, images_per_class: { min: 2, max: 2, mean: 2 } },
    });
  });

  it('imports the train or test split alone', async () => {
    const report = await importCub({ root: work('CUB_200_2011'), split: 'test', outRoot: work('out') });
    expect(report.dir).toBe(work('out', 'cub', 'test'));
    expect((await readClsManifest(join(report.dir, 'manifest.jsonl'))).map((s) => s.id)).toEqual([
      '1',
      '3',
      '5',
      '7',
      '9',
    ]);
    expect(report.notes).toEqual([]);
    expect(report.info.counts).toEqual({ images: 5, classes: 5 });
  });

  describe('EXPECTED FAILURE: bad releases are one-line UserErrors naming file:line: field', () => {
    const lists = cubLists();
    const cases: [string, Partial<Record<CubFile, string | Uint8Array>>, (root: string) => string][] = [
      [
        'missing image',
        { 'images.txt': lists['images.txt'].replace('0003.jpg', '0099.jpg') },
        (r) =>
          `${join(r, 'images.txt')}:3: image_name: image not found: ${join(r, 'images', '002.Laysan_Albatross/Laysan_Albatross_0099.jpg')}`,
      ],
      [
        'zero-area box',
        { 'bounding_boxes.txt': lists['bounding_boxes.txt'].replace('2 3.5 2 12.25 10', '2 3.5 2 0 10') },
        (r) => `${join(r, 'bounding_boxes.txt')}:2: box: zero-area box [3.5, 2, 0, 10]`,
      ],
      [
        'box outside the image',
        { 'bounding_boxes.txt': lists['bounding_boxes.txt'].replace('3 4.5 2 12.25 10', '3 41 2 5 5') },
        (r) => `${join(r, 'bounding_boxes.txt')}:3: box: box [41, 2, 5, 5] lies entirely outside the 40×30 image`,
      ],
      [
        'unknown class id',
        { 'image_class_labels.txt': lists['image_class_labels.txt'].replace('4 2\n', '4 9\n') },
        (r) => `${join(r, 'image_class_labels.txt')}:4: class_id: unknown class id 9 (classes.txt has 1..5)`,
      ],
      [
        'wrong column count',
        { 'images.txt': lists['images.txt'].replace('2 ', '2 extra ') },
        (r) => `${join(r, 'images.txt')}:2: (line): expected 2 columns (image_id, image_name), found 3`,
      ],
      [
        'non-numeric value',
        { 'bounding_boxes.txt': lists['bounding_boxes.txt'].replace('1 2.5', '1 abc') },
        (r) => `${join(r, 'bounding_boxes.txt')}:1: x: expected a number, got "abc"`,
      ],
      [
        'an image without a box',
        { 'bounding_boxes.txt': lists['bounding_boxes.txt'].replace(/^5 .*\n/m, '') },
        (r) => `${join(r, 'images.txt')}:5: image_id: image 5 has no line in ${join(r, 'bounding_boxes.txt')}`,
      ],
      [
        'a duplicate image id',
        { 'train_test_split.txt': lists['train_test_split.txt'].replace('3 0', '2 0') },
        (r) =>
          `${join(r, 'train_test_split.txt')}:3: image_id: duplicate image id 2 (first at ${join(r, 'train_test_split.txt')}:2)`,
      ],
      [
        'a Latin-1 file',
        {
          'classes.txt': Buffer.from(
            lists['classes.txt'].replace('\uFEFF', '').replace('Sooty', 'S\u00e9oty'),
            'latin1',
          ),
        },
        (r) => `${join(r, 'classes.txt')}:3: not UTF-8 text (Latin-1 or another encoding?): save it as UTF-8`,
      ],
    ];
    it.each(cases)('%s', async (name, edit, expected) => {
      const root = await cubVariant(name.replaceAll(' ', '-'), edit);
      expect(await userErrorMessage(importCub({ root, split: 'all', outRoot: work('bad') }))).toBe(expected(root));
    });

    it('the CLI exits 2 with one stderr line and no stack trace', { timeout: 60_000 }, async () => {
      const root = work('variants', 'wrong-column-count');
      const run = await runFalip(['data', 'import', 'cub', '--root', root, '--out-root', work('bad')]);
      expect(run.status).toBe(2);
      expect(run.stderr).toBe(
        `falip: ${join(root, 'images.txt')}:2: (line): expected 2 columns (image_id, image_name), found 3\n`,
      );
    });
  });
});

describe('Waterbirds', () => {
  it('imports the test split with CUB boxes, labels from y and the (y, place) groups', async () => {
    const report = await importWaterbirds({
      root: work('waterbirds'),
      cubRoot: work('CUB_200_2011'),
      split: 'test',
      outRoot: work('out'),
    });
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => s.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(samples.map((s) => s.label)).toEqual([1, 1, 0, 0, 1, 1]);
    expect(samples[0]).toEqual({
      id: '1',
      image: CUB_IMAGES[0]!.name,
      width: 40,
      height: 30,
      label: 1,
      box: [2.5, 2, 12.25, 10],
      source_split: 'test',
      group: { y: 1, place: 1 },
      place_scene: 'ocean',
    });
    expect(samples[3]).toMatchObject({ group: { y: 0, place: 0 }, place_scene: 'forest/broadleaf' });
    const classes = await readClasses(report.dir);
    expect(classes).toMatchObject({ names: ['landbird', 'waterbird'], template: 'a photo of a {}.' });
    expect(report.info.counts).toEqual({
      images: 6,
      classes: 2,
      landbird_on_land: 1,
      landbird_on_water: 1,
      waterbird_on_land: 2,
      waterbird_on_water: 2,
    });
    expect(report.info.sources.map((s) => s.file)).toEqual([
      work('waterbirds', 'metadata.csv'),
      work('CUB_200_2011', 'images.txt'),
      work('CUB_200_2011', 'bounding_boxes.txt'),
    ]);
    expect(report.notes).toEqual([
      "6 images, 2 classes: differs from the paper's Table 8 (5,794 images, 2 classes, the test split; Table 8 itself prints 20,580, evidently a copy of StanfordDogs' count)",
    ]);
    expect((await checkClsDataset(report.dir)).ok).toBe(true);
  });

  it('imports every split with --split all, clamping the CUB box that pokes out', async () => {
    const report = await importWaterbirds({
      root: work('waterbirds'),
      cubRoot: work('CUB_200_2011'),
      split: 'all',
      outRoot: work('out'),
    });
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => s.source_split)).toEqual([
      'test',
      'test',
      'test',
      'test',
      'test',
      'test',
      'val',
      'val',
      'train',
      'train',
    ]);
    expect(samples[9]!.box).toEqual([20, 30, 10, 10]);
    expect(report.warnings).toEqual([
      `${work('waterbirds', 'metadata.csv')}:11: box: box [20, 30, 15, 20] extends outside the 30×40 image; clamped to [20, 30, 10, 10]`,
    ]);
    expect(report.notes).toEqual([]);
  });

  describe('EXPECTED FAILURE: bad metadata is a one-line UserError naming file:line: field', () => {
    async function importWith(name: string, metadata: string, cubRoot = work('CUB_200_2011')): Promise<string> {
      const root = work('wb-variants', name);
      await mkdir(root, { recursive: true });
      await writeFile(join(root, 'metadata.csv'), metadata);
      return userErrorMessage(importWaterbirds({ root, cubRoot, split: 'test', outRoot: work('bad') }));
    }
    const metadata = (): string => waterbirdsMetadata(CUB_IMAGES.slice(0, 2));
    const line2 = '0,1,001.Black_footed_Albatross/Black_footed_Albatross_0001.jpg,1,2,1,/o/ocean/00000001.jpg';

    it('an img_id with no CUB box', async () => {
      const cubRoot = await cubVariant('no-box-1', {
        'bounding_boxes.txt': cubLists()['bounding_boxes.txt'].replace(/^1 .*\n/m, ''),
      });
      const message = await importWith('no-box', metadata(), cubRoot);
      expect(message).toBe(
        `${work('wb-variants', 'no-box', 'metadata.csv')}:2: img_id: CUB image 1 has no box in ${join(cubRoot, 'bounding_boxes.txt')}`,
      );
    });

    it("an img_filename that is not CUB's photo of that img_id", async () => {
      const message = await importWith('wrong-file', metadata().replace(line2, line2.replace('0,1,', '0,2,')));
      expect(message).toBe(
        `${work('wb-variants', 'wrong-file', 'metadata.csv')}:2: img_filename: "001.Black_footed_Albatross/Black_footed_Albatross_0001.jpg", but ${work('CUB_200_2011', 'images.txt')}:2 names "001.Black_footed_Albatross/Black_footed_Albatross_0002.jpg" for img_id 2`,
      );
    });

    it('a y that is no class, a non-numeric id, a short row, a missing column', async () => {
      const path = (name: string): string => work('wb-variants', name, 'metadata.csv');
      expect(await importWith('bad-y', metadata().replace(line2, line2.replace('.jpg,1,2,', '.jpg,2,2,')))).toBe(
        `${path('bad-y')}:2: y: expected one of 0, 1, got 2`,
      );
      expect(await importWith('bad-id', metadata().replace(line2, line2.replace('0,1,', '0,x1,')))).toBe(
        `${path('bad-id')}:2: img_id: expected an integer, got "x1"`,
      );
      expect(await importWith('short', metadata().replace(line2, line2.replace(',/o/ocean/00000001.jpg', '')))).toBe(
        `${path('short')}:2: (line): expected 7 columns ((index), img_id, img_filename, y, split, place, place_filename), found 6`,
      );
      expect(await importWith('no-place', metadata().replace(',place,', ',where,'))).toBe(
        `${path('no-place')}:1: (header): no column place (expected img_id, img_filename, y, split, place, place_filename)`,
      );
    });
  });
});

describe('StanfordDogs', () => {
  it('imports breeds in sorted folder order with the union box of a two-dog image by default', async () => {
    const report = await importStanfordDogs({ root: work('dogs'), multiBox: 'union', outRoot: work('out') });
    expect(report.dir).toBe(work('out', 'stanforddogs', 'all'));
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples).toEqual([
      {
        id: 'n02085620_7',
        image: 'n02085620-Chihuahua/n02085620_7.jpg',
        width: 80,
        height: 60,
        label: 0,
        box: [10, 5, 60, 35],
        objects: 2,
      },
      {
        id: 'n02086240_3',
        image: 'n02086240-Shih-Tzu/n02086240_3.jpg',
        width: 64,
        height: 48,
        label: 1,
        box: [4, 8, 60, 32],
        objects: 1,
      },
      {
        id: 'n02116738_1',
        image: 'n02116738-African_hunting_dog/n02116738_1.jpg',
        width: 50,
        height: 40,
        label: 2,
        box: [5, 6, 40, 32],
        objects: 1,
      },
    ]);
    const classes = await readClasses(report.dir);
    expect(classes.names).toEqual(['Chihuahua', 'Shih-Tzu', 'African hunting dog']);
    expect(classes.template).toBe('a photo of a {}, a type of dog.');
    const shihTzu = work('dogs', 'Annotation', 'n02086240-Shih-Tzu', 'n02086240_3');
    expect(report.warnings).toEqual([
      `${shihTzu}: size: the XML says 48×64, ${work('dogs', 'Images', 'n02086240-Shih-Tzu', 'n02086240_3.jpg')} is 64×48 (boxes are clamped to the image)`,
      `${shihTzu}:13: object[0].bndbox: box [4, 8, 66, 32] extends outside the 64×48 image; clamped to [4, 8, 60, 32]`,
    ]);
    expect(report.notes).toEqual([
      "3 images, 3 classes: differs from the paper's Table 8 (20,580 images, 120 classes)",
      "1 image(s) show several dogs: their box is the union of the dogs' boxes",
    ]);
    const info = await readDatasetInfo(report.dir);
    expect(info.options).toMatchObject({ multi_box: 'union' });
    expect(info.counts).toEqual({ images: 3, classes: 3, objects: 4, multi_object_images: 1 });
    expect(info.sources).toHaveLength(1);
    expect(info.sources[0]!.file).toBe(`${work('dogs', 'Annotation')}/`);
    expect((await checkClsDataset(report.dir)).ok).toBe(true);
  });

  it('--multi-box largest and first pick one dog', async () => {
    const largest = await importStanfordDogs({ root: work('dogs'), multiBox: 'largest', outRoot: work('out-largest') });
    expect((await readClsManifest(join(largest.dir, 'manifest.jsonl')))[0]!.box).toEqual([35, 5, 35, 35]);
    expect(largest.info.options).toMatchObject({ multi_box: 'largest' });
    const first = await importStanfordDogs({ root: work('dogs'), multiBox: 'first', outRoot: work('out-first') });
    expect((await readClsManifest(join(first.dir, 'manifest.jsonl')))[0]!.box).toEqual([10, 10, 20, 20]);
    expect(
      combineBoxes(
        [
          [0, 0, 2, 2],
          [5, 5, 2, 2],
        ],
        'largest',
      ),
    ).toEqual([0, 0, 2, 2]);
  });

  describe('EXPECTED FAILURE: bad annotations are one-line UserErrors', () => {
    async function dogsVariant(name: string, xml?: string): Promise<string> {
      const root = work('dog-variants', name);
      await writeDogsRelease(root, DOG_IMAGES.slice(0, 2));
      if (xml !== undefined) await writeFile(join(root, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7'), xml);
      return root;
    }
    const chihuahua = DOG_IMAGES[1]!;
    const goodXml = (): string => dogXml(chihuahua.folder, chihuahua.file, chihuahua.xmlSize, chihuahua.objects);

    it('malformed XML names the line', async () => {
      const root = await dogsVariant('malformed', goodXml().replace('<xmax>30</xmax>', '<xmax>30</xmx>'));
      expect(await userErrorMessage(importStanfordDogs({ root, multiBox: 'union', outRoot: work('bad') }))).toBe(
        `${join(root, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7')}:21: (xml): Expected closing tag 'xmax' (opened in line 21, col 4) instead of closing tag 'xmx'.`,
      );
    });

    it('a missing bndbox field names the object and its line', async () => {
      const root = await dogsVariant('no-xmax', goodXml().replace('<xmax>70</xmax>', ''));
      expect(await userErrorMessage(importStanfordDogs({ root, multiBox: 'union', outRoot: work('bad') }))).toBe(
        `${join(root, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7')}:25: annotation.object[1].bndbox.xmax: missing`,
      );
    });

    it('a zero-area dog box: left out with a warning when the image shows another dog, an error when it is the only one', async () => {
      const root = await dogsVariant('zero', goodXml().replace('<xmax>70</xmax>', '<xmax>35</xmax>'));
      const xml = join(root, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7');
      const report = await importStanfordDogs({ root, multiBox: 'union', outRoot: work('zero') });
      expect(report.warnings).toContain(
        `${xml}:25: object[1].bndbox: zero-area box [35, 5, 0, 35]; this object is left out`,
      );
      const sample = (await readClsManifest(join(report.dir, 'manifest.jsonl'))).find((s) => s.id === 'n02085620_7')!;
      expect(sample).toMatchObject({ box: [10, 10, 20, 20], objects: 1 });
      const alone = await dogsVariant(
        'zero-alone',
        dogXml('n02085620-Chihuahua', 'n02085620_7', [80, 60], [[35, 5, 35, 40]]),
      );
      expect(await userErrorMessage(importStanfordDogs({ root: alone, multiBox: 'union', outRoot: work('bad') }))).toBe(
        `${join(alone, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7')}:13: object[0].bndbox: zero-area box [35, 5, 0, 35]`,
      );
    });

    it('an image without its annotation, and an annotation without its image', async () => {
      let root = await dogsVariant('no-annotation');
      await rm(join(root, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7'));
      expect(await userErrorMessage(importStanfordDogs({ root, multiBox: 'union', outRoot: work('bad') }))).toBe(
        `${join(root, 'Images', 'n02085620-Chihuahua', 'n02085620_7.jpg')}: annotation: no annotation file ${join(root, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7')}`,
      );
      root = await dogsVariant('no-image');
      await rm(join(root, 'Images', 'n02085620-Chihuahua', 'n02085620_7.jpg'));
      expect(await userErrorMessage(importStanfordDogs({ root, multiBox: 'union', outRoot: work('bad') }))).toBe(
        `${join(root, 'Annotation', 'n02085620-Chihuahua', 'n02085620_7')}: image: no image n02085620-Chihuahua/n02085620_7.jpg under ${join(root, 'Images')}`,
      );
    });
  });
});

describe('ImageNet-S', () => {
  let tench: string;
  let meerkat: string;
  const root = (): string => work('ImageNetS919');
  const image = (wnid: string, n: number): string =>
    join(root(), 'validation', wnid, `ILSVRC2012_val_0000000${n}.JPEG`);
  const mask = (wnid: string, n: number): string =>
    join(root(), 'validation-segmentation', wnid, `ILSVRC2012_val_0000000${n}.png`);

  beforeAll(async () => {
    const list = await readImageNetSClassList();
    tench = list.wnids[0]!;
    meerkat = list.wnids[299]!;
    // Meerkat = label 299, mask id 300 = R 44 + 256·G 1: only the 300 pixels count, not the tench (1) or ignore (1000) ones.
    await writeJpeg(image(meerkat, 1), 40, 30);
    await writeIdMask(mask(meerkat, 1), 40, 30, (x, y) =>
      x >= 5 && x < 15 && y >= 3 && y < 10 ? 300 : x >= 30 && x < 36 && y >= 20 && y < 26 ? 1 : y === 29 ? 1000 : 0,
    );
    // A tench image whose half-size mask shows only meerkat pixels: box of all labelled pixels, scaled ×2.
    await writeJpeg(image(tench, 2), 40, 30);
    await writeIdMask(mask(tench, 2), 20, 15, (x, y) =>
      x >= 2 && x < 6 && y >= 1 && y < 4 ? 300 : x === 19 && y === 14 ? 1000 : 0,
    );
    // Nothing but background and ignore: the whole image.
    await writeJpeg(image(tench, 3), 32, 32);
    await writeIdMask(mask(tench, 3), 32, 32, (x) => (x < 4 ? 1000 : 0));
  });

  it('reads the class of R + 256·G, falls back to all labelled pixels, then the whole image', async () => {
    const report = await importImageNetS({ root: root(), outRoot: work('out') });
    expect(report.dir).toBe(work('out', 'imagenet-s', 'val'));
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples).toEqual([
      {
        id: 'ILSVRC2012_val_00000002',
        image: `${tench}/ILSVRC2012_val_00000002.JPEG`,
        width: 40,
        height: 30,
        label: 0,
        box: [4, 2, 8, 6],
        box_from: 'foreground',
      },
      {
        id: 'ILSVRC2012_val_00000003',
        image: `${tench}/ILSVRC2012_val_00000003.JPEG`,
        width: 32,
        height: 32,
        label: 0,
        box: [0, 0, 32, 32],
        box_from: 'image',
      },
      {
        id: 'ILSVRC2012_val_00000001',
        image: `${meerkat}/ILSVRC2012_val_00000001.JPEG`,
        width: 40,
        height: 30,
        label: 299,
        box: [5, 3, 10, 7],
        box_from: 'class',
      },
    ]);
    expect(report.warnings).toEqual([
      `${mask(tench, 2)}: size: the mask is 20×15, ${image(tench, 2)} is 40×30; box rescaled`,
    ]);
    expect(report.notes).toEqual([
      "3 images, 919 classes: differs from the paper's Table 8 (12,419 images, 919 classes, the validation set)",
      '1 mask(s) have no pixel of their own class: their box encloses every labelled pixel (ids other than 0 and 1000)',
      '1 mask(s) have no labelled pixel at all: their box is the whole image',
    ]);
    const classes = await readClasses(report.dir);
    expect(classes.names).toHaveLength(919);
    expect([classes.names[0], classes.names[1], classes.names[299]]).toEqual(['tench', 'goldfish', 'meerkat']);
    expect(classes.source_ids![299]).toBe(meerkat);
    expect(classes.template).toBe('a photo of a {}.');
    expect(classes.notes!.join(' ')).toContain('n04356056→n04355933');
    expect(report.info.counts).toEqual({ images: 3, classes: 919, box_from_foreground: 1, box_from_image: 1 });
    expect(report.info.sources.map((s) => s.file)).toEqual([
      resolve(REPO_ROOT, 'configs/classnames/imagenet-s-919.json'),
      `${join(root(), 'validation-segmentation')}/`,
    ]);
    expect((await checkClsDataset(report.dir)).ok).toBe(true);
  });

  it('--names replaces the names (one per line, or the shipped JSON shape) and refuses a wrong count', async () => {
    const lines = work('names.txt');
    await writeFile(lines, `${Array.from({ length: 919 }, (_, i) => `class ${i}`).join('\n')}\n`);
    const report = await importImageNetS({ root: root(), names: lines, outRoot: work('out-names') });
    expect((await readClasses(report.dir)).names[299]).toBe('class 299');
    expect((await readClasses(report.dir)).source_ids![299]).toBe(meerkat);
    await writeFile(lines, 'a\nb\n');
    expect(await userErrorMessage(importImageNetS({ root: root(), names: lines, outRoot: work('bad') }))).toBe(
      `${lines}: expected 919 names (one per line, in the sorted-wnid order), found 2`,
    );
    const json = work('names.json');
    const shipped = JSON.parse(await readFile(join(REPO_ROOT, 'configs/classnames/imagenet-s-919.json'), 'utf8')) as {
      names: { wnid: string }[];
    };
    const swapped = [...shipped.names];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    await writeFile(json, JSON.stringify({ source: 'test', names: swapped }));
    expect(await userErrorMessage(importImageNetS({ root: root(), names: json, outRoot: work('bad') }))).toBe(
      `${json}: names[1].wnid: ${shipped.names[0]!.wnid} does not sort after ${shipped.names[1]!.wnid} (expected the 919 wnids sorted, each once)`,
    );
  });

  describe('EXPECTED FAILURE: bad masks and unpaired files are one-line UserErrors', () => {
    async function variant(name: string, build: (r: string) => Promise<void>): Promise<string> {
      const r = work('ins-variants', name);
      await writeJpeg(join(r, 'validation', meerkat, 'a.JPEG'), 8, 8);
      await writeIdMask(join(r, 'validation-segmentation', meerkat, 'a.png'), 8, 8, () => 300);
      await build(r);
      return r;
    }

    it('an unknown class id in a mask', async () => {
      const r = await variant('unknown-id', (v) =>
        writeIdMask(join(v, 'validation-segmentation', meerkat, 'a.png'), 8, 8, (x, y) =>
          x === 3 && y === 2 ? 950 : 300,
        ),
      );
      expect(await userErrorMessage(importImageNetS({ root: r, outRoot: work('bad') }))).toBe(
        `${join(r, 'validation-segmentation', meerkat, 'a.png')}: pixel (3, 2): unknown class id 950 (expected 0 = other, 1000 = ignore or 1..919)`,
      );
    });

    it('a mask without its image, an image without its mask, a folder that is no class', async () => {
      let r = await variant('orphan-mask', (v) =>
        writeIdMask(join(v, 'validation-segmentation', meerkat, 'b.png'), 8, 8, () => 300),
      );
      expect(await userErrorMessage(importImageNetS({ root: r, outRoot: work('bad') }))).toBe(
        `${join(r, 'validation-segmentation', meerkat, 'b.png')}: image: no image ${meerkat}/b.JPEG under ${join(r, 'validation')}`,
      );
      r = await variant('orphan-image', (v) => writeJpeg(join(v, 'validation', meerkat, 'c.JPEG'), 8, 8));
      expect(await userErrorMessage(importImageNetS({ root: r, outRoot: work('bad') }))).toBe(
        `${join(r, 'validation', meerkat, 'c.JPEG')}: mask: no mask ${meerkat}/c.png under ${join(r, 'validation-segmentation')}`,
      );
      r = await variant('not-a-class', async (v) => {
        await writeJpeg(join(v, 'validation', 'n99999999', 'd.JPEG'), 8, 8);
        await writeIdMask(join(v, 'validation-segmentation', 'n99999999', 'd.png'), 8, 8, () => 0);
      });
      expect(await userErrorMessage(importImageNetS({ root: r, outRoot: work('bad') }))).toBe(
        `${join(r, 'validation', 'n99999999')}: folder: n99999999 is not one of the 919 ImageNet-S classes`,
      );
    });
  });
});

describe('the importer registry', () => {
  it('lists the classification importers with their options', () => {
    expect(findImporter('cub')?.options.map((o) => o.flags)).toEqual(['--root <dir>', '--split <name>']);
    expect(findImporter('stanforddogs')?.options.find((o) => o.flags.startsWith('--multi-box'))?.defaultValue).toBe(
      'union',
    );
    expect(classificationTask.importers.map((i) => i.name)).toEqual([
      'cub',
      'stanforddogs',
      'imagenet-s',
      'waterbirds',
      'coop',
      'imagenet',
    ]);
    expect(findImporter('waterbirds')?.options.find((o) => o.flags.startsWith('--split'))?.defaultValue).toBe('test');
  });
});
