import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDatasetInfo } from '../../src/datasets/dataset-info.js';
import { checkClsDataset } from '../../src/tasks/classification/check-cls.js';
import { readClasses, readClsManifest } from '../../src/tasks/classification/cls-manifest.js';
import { importCoop } from '../../src/tasks/classification/importers/coop-import.js';
import { importImageNet } from '../../src/tasks/classification/importers/imagenet-import.js';
import { classificationTask } from '../../src/tasks/classification/index.js';
import { writeJpeg } from '../helpers/cls-release-fixtures.js';
import { expectOk, expectUserError, runFalip } from '../helpers/cli.js';
import {
  CALTECH,
  CARS,
  DTD,
  EUROSAT,
  FGVC_TEST,
  FLOWERS,
  FOOD,
  IMAGENET_VAL,
  inRect,
  PETS,
  SUN,
  UCF,
  writeFgvcRelease,
  writeImageNetRelease,
  writeMask,
  writeText,
  writeZhouRelease,
  type ZhouEntry,
  zhouJson,
} from '../helpers/coop-release-fixtures.js';
import { userErrorMessage } from '../helpers/errors.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-coop-import-');
const work = (...parts: string[]): string => join(dirs.root(), ...parts);
const sha256 = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
const PETS_JSON = 'split_zhou_OxfordPets.json';
const petsRoot = (): string => work('oxford_pets');
const petsJson = (): string => join(petsRoot(), PETS_JSON);

beforeAll(async () => {
  await writeZhouRelease(petsRoot(), 'images', PETS_JSON, PETS);
});

describe('CoOp split_zhou datasets', () => {
  it('OxfordPets: the test split, labels and names from the JSON ("_" → " "), the pet template, whole-image boxes', async () => {
    const report = await importCoop({ dataset: 'oxford_pets', root: petsRoot(), split: 'test', outRoot: work('out') });
    expect(report.dir).toBe(work('out', 'oxford_pets', 'test'));
    expect(await readClsManifest(join(report.dir, 'manifest.jsonl'))).toEqual([
      {
        id: 'Abyssinian_100.jpg',
        image: 'Abyssinian_100.jpg',
        width: 48,
        height: 32,
        label: 0,
        box: [0, 0, 48, 32],
        box_from: 'image',
      },
      {
        id: 'american_bulldog_100.jpg',
        image: 'american_bulldog_100.jpg',
        width: 32,
        height: 48,
        label: 1,
        box: [0, 0, 32, 48],
        box_from: 'image',
      },
      {
        id: 'Bengal_7.jpg',
        image: 'Bengal_7.jpg',
        width: 40,
        height: 40,
        label: 2,
        box: [0, 0, 40, 40],
        box_from: 'image',
      },
    ]);
    const classes = await readClasses(report.dir);
    expect(classes).toMatchObject({
      names: ['abyssinian', 'american bulldog', 'bengal'],
      source_ids: ['abyssinian', 'american_bulldog', 'bengal'],
      template: 'a photo of a {}, a type of pet.',
      template_source: expect.stringContaining('CUSTOM_TEMPLATES["OxfordPets"]'),
    });
    expect(classes.names_source).toContain(petsJson());
    expect(classes.names_source).toContain('lower-cased');
    expect(report.info).toEqual({
      name: 'oxford_pets',
      split: 'test',
      task: 'classification',
      image_root: join(petsRoot(), 'images'),
      sources: [{ file: petsJson(), sha256: await sha256(petsJson()) }],
      counts: { images: 3, classes: 3, box_from_image: 3 },
      options: { box_source: 'none: every box is the whole image (no --masks or --boxes)' },
      created_by: 'falip data import coop --dataset oxford_pets --split test',
      // What the import wrote beside it, so a folder mixing two imports is told from a whole one.
      files: {
        'manifest.jsonl': await sha256(join(report.dir, 'manifest.jsonl')),
        'classes.json': await sha256(join(report.dir, 'classes.json')),
      },
    });
    expect(await readDatasetInfo(report.dir)).toEqual(report.info);
    expect(report.notes).toEqual(['no --masks or --boxes: every box is the whole image']);
    expect(report.warnings).toEqual([]);
    expect(await checkClsDataset(report.dir)).toMatchObject({
      ok: true,
      errors: [],
      warnings: [],
      counts: { images: 3, classes: 3, classes_with_images: 3 },
    });
  });

  it('keeps the split name and the label space of the whole file for train and val', async () => {
    const train = await importCoop({ dataset: 'oxford_pets', root: petsRoot(), split: 'train', outRoot: work('out') });
    expect(train.dir).toBe(work('out', 'oxford_pets', 'train'));
    expect((await readClsManifest(join(train.dir, 'manifest.jsonl'))).map((s) => s.id)).toEqual(['Abyssinian_1.jpg']);
    expect((await readClasses(train.dir)).names).toHaveLength(3);
    expect(await checkClsDataset(train.dir)).toMatchObject({
      ok: true,
      counts: { classes: 3, classes_with_images: 1 },
    });
    const val = await importCoop({ dataset: 'oxford_pets', root: petsRoot(), split: 'val', outRoot: work('out') });
    expect(val.info).toMatchObject({ split: 'val', counts: { images: 1, classes: 3 } });
  });

  // Each dataset's image sub-folder and name rules: the folder the JSON's paths are relative to.
  const layouts: readonly {
    dataset: string;
    images: string;
    splitFile: string;
    entries: readonly ZhouEntry[];
    names: string[];
    template: string;
  }[] = [
    {
      dataset: 'dtd',
      images: 'images',
      splitFile: 'split_zhou_DescribableTextures.json',
      entries: DTD,
      names: ['banded', 'zigzagged'],
      template: '{} texture.',
    },
    {
      dataset: 'eurosat',
      images: '2750',
      splitFile: 'split_zhou_EuroSAT.json',
      entries: EUROSAT,
      names: ['Annual Crop Land', 'Sea or Lake'],
      template: 'a centered satellite photo of {}.',
    },
    {
      dataset: 'caltech101',
      images: '101_ObjectCategories',
      splitFile: 'split_zhou_Caltech101.json',
      entries: CALTECH,
      names: ['face', 'accordion', 'airplane'],
      template: 'a photo of a {}.',
    },
    {
      dataset: 'stanford_cars',
      images: '',
      splitFile: 'split_zhou_StanfordCars.json',
      entries: CARS,
      names: ['2012 Audi TTS Coupe', '2007 BMW X5 SUV'],
      template: 'a photo of a {}.',
    },
    {
      dataset: 'sun397',
      images: 'SUN397',
      splitFile: 'split_zhou_SUN397.json',
      entries: SUN,
      names: ['abbey', 'outdoor apartment building'],
      template: 'a photo of a {}.',
    },
    {
      dataset: 'ucf101',
      images: 'UCF-101-midframes',
      splitFile: 'split_zhou_UCF101.json',
      entries: UCF,
      names: ['Apply Eye Makeup', 'Archery'],
      template: 'a photo of a person doing {}.',
    },
    {
      dataset: 'food101',
      images: 'images',
      splitFile: 'split_zhou_Food101.json',
      entries: FOOD,
      names: ['apple pie', 'baby back ribs'],
      template: 'a photo of {}, a type of food.',
    },
    {
      dataset: 'oxford_flowers',
      images: 'jpg',
      splitFile: 'split_zhou_OxfordFlowers.json',
      entries: FLOWERS,
      names: ['pink primrose', 'hard-leaved pocket orchid'],
      template: 'a photo of a {}, a type of flower.',
    },
  ];

  it.each(layouts)('$dataset: images under its own sub-folder, its names and template', async (l) => {
    const root = work('layouts', l.dataset);
    await writeZhouRelease(root, l.images, l.splitFile, l.entries);
    const report = await importCoop({ dataset: l.dataset, root, split: 'test', outRoot: work('out') });
    const tests = l.entries.filter((e) => e.split === 'test');
    expect(report.info.image_root).toBe(join(root, l.images));
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => [s.id, s.image, s.label, s.width, s.height])).toEqual(
      tests.map((e) => [e.image, e.image, e.label, e.width, e.height]),
    );
    const classes = await readClasses(report.dir);
    expect(classes.names).toEqual(l.names);
    expect(classes.template).toBe(l.template);
    expect(await checkClsDataset(report.dir)).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  it('FGVCAircraft: variants.txt order is the label order, images/<id>.jpg, names with spaces and slashes', async () => {
    const root = work('fgvc_aircraft');
    await writeFgvcRelease(root);
    const report = await importCoop({ dataset: 'fgvc_aircraft', root, split: 'test', outRoot: work('out') });
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => [s.id, s.label])).toEqual([
      ['1514522.jpg', 1],
      ['0056978.jpg', 2],
      ['0062765.jpg', 0],
    ]);
    const classes = await readClasses(report.dir);
    expect(classes.names).toEqual(['707-320', 'Cessna 172', 'F/A-18']);
    expect(classes.template).toBe('a photo of a {}, a type of aircraft.');
    expect(report.info.sources.map((s) => s.file)).toEqual([
      join(root, 'variants.txt'),
      join(root, 'images_variant_test.txt'),
    ]);
    expect((await checkClsDataset(report.dir)).ok).toBe(true);
  });
});

describe('ImageNet (CoOp layout)', () => {
  const root = (): string => work('imagenet');
  beforeAll(() => writeImageNetRelease(root()));

  it('labels the sorted wnid folders of val/, names them from classnames.txt', async () => {
    const report = await importImageNet({ root: root(), split: 'val', outRoot: work('out') });
    expect(report.dir).toBe(work('out', 'imagenet', 'val'));
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    // n01440764 sorts before n01443537: label 0, whatever order the folders were written in.
    expect(samples).toEqual([
      {
        id: 'n01440764/ILSVRC2012_val_00000293.JPEG',
        image: 'n01440764/ILSVRC2012_val_00000293.JPEG',
        width: 40,
        height: 50,
        label: 0,
        box: [0, 0, 40, 50],
        box_from: 'image',
      },
      {
        id: 'n01440764/ILSVRC2012_val_00002138.JPEG',
        image: 'n01440764/ILSVRC2012_val_00002138.JPEG',
        width: 32,
        height: 32,
        label: 0,
        box: [0, 0, 32, 32],
        box_from: 'image',
      },
      {
        id: 'n01443537/ILSVRC2012_val_00000001.JPEG',
        image: 'n01443537/ILSVRC2012_val_00000001.JPEG',
        width: 50,
        height: 40,
        label: 1,
        box: [0, 0, 50, 40],
        box_from: 'image',
      },
    ]);
    const classes = await readClasses(report.dir);
    expect(classes).toMatchObject({
      names: ['tench', 'goldfish'],
      source_ids: ['n01440764', 'n01443537'],
      template: 'a photo of a {}.',
    });
    expect(report.info).toMatchObject({
      name: 'imagenet',
      split: 'val',
      image_root: join(root(), 'images', 'val'),
      counts: { images: 3, classes: 2, box_from_image: 3 },
      sources: [{ file: join(root(), 'classnames.txt'), sha256: await sha256(join(root(), 'classnames.txt')) }],
      created_by: 'falip data import imagenet --split val',
    });
    // classnames.txt names a third wnid with no folder: as in CoOp, it is no class of this import.
    expect(report.warnings).toEqual([
      `${join(root(), 'classnames.txt')}: 1 wnid(s) have no folder under ${join(root(), 'images', 'val')} (first: n01484850): not classes of this import, and later labels shift, as in CoOp`,
    ]);
    expect(await checkClsDataset(report.dir)).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  it('applies "_" → " " to classnames.txt names; --classnames replaces the file', async () => {
    const file = work('my-classnames.txt');
    await writeText(file, 'n01443537 gold_fish\nn01440764 tench_fish\n');
    const report = await importImageNet({ root: root(), split: 'val', classnames: file, outRoot: work('out-names') });
    expect((await readClasses(report.dir)).names).toEqual(['tench fish', 'gold fish']);
    expect(report.warnings).toEqual([]);
    expect(report.info.created_by).toBe('falip data import imagenet --split val --classnames FILE');
  });

  describe('EXPECTED FAILURE: bad ImageNet input is a one-line UserError', () => {
    it('a folder classnames.txt does not name, a malformed or repeated wnid line', async () => {
      const r = work('imagenet-bad');
      await writeImageNetRelease(r, 'n01440764 tench\n');
      expect(await userErrorMessage(importImageNet({ root: r, split: 'val', outRoot: work('bad') }))).toBe(
        `${join(r, 'images', 'val', 'n01443537')}: folder: n01443537 has no line in ${join(r, 'classnames.txt')}`,
      );
      await writeText(join(r, 'classnames.txt'), 'n01440764 tench\nfish goldfish\n');
      expect(await userErrorMessage(importImageNet({ root: r, split: 'val', outRoot: work('bad') }))).toBe(
        `${join(r, 'classnames.txt')}:2: wnid: expected a wnid like n01440764, got "fish"`,
      );
      await writeText(join(r, 'classnames.txt'), 'n01440764 tench\n\nn01440764 goldfish\n');
      expect(await userErrorMessage(importImageNet({ root: r, split: 'val', outRoot: work('bad') }))).toBe(
        `${join(r, 'classnames.txt')}:3: wnid: n01440764 is also at ${join(r, 'classnames.txt')}:1`,
      );
      await writeText(join(r, 'classnames.txt'), 'n01440764\n');
      expect(await userErrorMessage(importImageNet({ root: r, split: 'val', outRoot: work('bad') }))).toBe(
        `${join(r, 'classnames.txt')}:1: (line): expected "<wnid> <class name>"`,
      );
    });

    it('a flat val/ folder (not sorted into wnid folders), a file that is no image', async () => {
      const r = work('imagenet-flat');
      await writeText(join(r, 'classnames.txt'), 'n01440764 tench\n');
      await writeJpeg(join(r, 'images', 'val', 'ILSVRC2012_val_00000001.JPEG'), 8, 8);
      expect(await userErrorMessage(importImageNet({ root: r, split: 'val', outRoot: work('bad') }))).toBe(
        `${join(r, 'images', 'val')}: no wnid folders (CoOp reads images/val/<wnid>/<file>: sort a flat validation folder into class folders first)`,
      );
      await writeText(join(r, 'images', 'val', 'n01440764', 'notes.txt'), 'not an image');
      await userErrorMessage(
        importImageNet({ root: r, split: 'val', outRoot: work('bad') }),
        `${join(r, 'images', 'val', 'n01440764', 'notes.txt')}: image: cannot read image`,
      );
    });
  });
});

describe('foreground masks (--masks, FVG-PT layout)', () => {
  // FVG-PT's release: <outer>/oxford_pets/ (CoOp's dataset folder) beside <outer>/mask/oxford_pets/images/<file>.
  const outer = (): string => work('fvg', 'oxford_pets');
  const root = (): string => join(outer(), 'oxford_pets');
  const masks = (): string => join(outer(), 'mask');
  const maskOf = (file: string): string => join(masks(), 'oxford_pets', 'images', file);

  beforeAll(async () => {
    await writeZhouRelease(root(), 'images', PETS_JSON, PETS);
    // 48×32: a 24×16 white block in a grey (100 < 127.5) halo, and a small white block apart: two regions.
    await writeMask(maskOf('Abyssinian_100.jpg'), 48, 32, (x, y) =>
      inRect(x, y, [8, 8, 32, 24]) || inRect(x, y, [40, 24, 48, 32]) ? 255 : inRect(x, y, [0, 0, 40, 32]) ? 100 : 0,
    );
    // Half the size of its 32×48 image, its block not on JPEG's 8-pixel grid (noisy edges): box [3, 5, 8, 12] × 2.
    await writeMask(maskOf('american_bulldog_100.jpg'), 16, 24, (x, y) => (inRect(x, y, [3, 5, 11, 17]) ? 255 : 0));
    // Nothing above the threshold, only faint speckle: the whole image.
    await writeMask(maskOf('Bengal_7.jpg'), 40, 40, (x, y) => ((x * 7 + y * 3) % 11 === 0 ? 90 : 0));
  });

  it('the box is the bounding box of all foreground pixels; empty masks give the whole image, counted', async () => {
    const report = await importCoop({
      dataset: 'oxford_pets',
      root: root(),
      split: 'test',
      masks: masks(),
      outRoot: work('out-masks'),
    });
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => [s.id, s.box, s.box_from])).toEqual([
      ['Abyssinian_100.jpg', [8, 8, 40, 24], 'mask'],
      ['american_bulldog_100.jpg', [6, 10, 16, 24], 'mask'],
      ['Bengal_7.jpg', [0, 0, 40, 40], 'image'],
    ]);
    const folder = join(masks(), 'oxford_pets', 'images');
    expect(report.info.counts).toEqual({
      images: 3,
      classes: 3,
      box_from_mask: 2,
      box_from_image: 1,
      multi_region_masks: 1,
      resized_masks: 1,
    });
    expect(report.info.options).toMatchObject({
      masks: masks(),
      mask_folder: folder,
      mask_region: 'all',
      mask_connectivity: 8,
    });
    expect(report.info.options!.box_source).toContain('mean of R, G, B over 255 > 0.5');
    expect(report.info.sources.map((s) => s.file)).toEqual([join(root(), PETS_JSON), `${folder}/`]);
    expect(report.info.created_by).toBe('falip data import coop --dataset oxford_pets --split test --masks DIR');
    expect(report.notes).toEqual([
      `masks read from ${folder}/<image path>; 2 box(es) enclose all foreground pixels of its mask`,
      '1 mask(s) have no foreground pixel: their box is the whole image',
      '1 mask(s) have several 8-connected foreground regions',
    ]);
    expect(report.warnings).toEqual([
      `${maskOf('american_bulldog_100.jpg')}: size: the mask is 16×24, ${join(root(), 'images', 'american_bulldog_100.jpg')} is 32×48; box rescaled`,
    ]);
    expect(await checkClsDataset(report.dir)).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  it('--mask-region largest keeps the largest 8-connected region', async () => {
    const report = await importCoop({
      dataset: 'oxford_pets',
      root: root(),
      split: 'test',
      masks: masks(),
      maskRegion: 'largest',
      outRoot: work('out-largest'),
    });
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => [s.box, s.box_from])).toEqual([
      [[8, 8, 24, 16], 'mask-largest'],
      [[6, 10, 16, 24], 'mask-largest'],
      [[0, 0, 40, 40], 'image'],
    ]);
    expect(report.info.counts).toMatchObject({ box_from_mask_largest: 2, box_from_image: 1 });
    expect(report.info.created_by).toBe(
      'falip data import coop --dataset oxford_pets --split test --masks DIR --mask-region largest',
    );
    expect((await checkClsDataset(report.dir)).ok).toBe(true);
  });

  it('finds a mask tree that mirrors the image folder itself (a copy made one level lower)', async () => {
    const report = await importCoop({
      dataset: 'oxford_pets',
      root: root(),
      split: 'test',
      masks: join(masks(), 'oxford_pets', 'images'),
      outRoot: work('out-lower'),
    });
    expect(report.info.options).toMatchObject({ mask_folder: join(masks(), 'oxford_pets', 'images') });
    expect(report.info.counts).toMatchObject({ box_from_mask: 2 });
  });

  it('ImageNet masks sit at mask/imagenet/images/val/<wnid>/<file>.JPEG', async () => {
    const inOuter = work('fvg', 'imagenet-1k');
    const inRoot = join(inOuter, 'imagenet');
    await writeImageNetRelease(inRoot);
    for (const i of IMAGENET_VAL)
      await writeMask(join(inOuter, 'mask', 'imagenet', 'images', 'val', i.image), i.width, i.height, (x, y) =>
        inRect(x, y, [8, 8, 24, 24]) ? 255 : 0,
      );
    const report = await importImageNet({
      root: inRoot,
      split: 'val',
      masks: join(inOuter, 'mask'),
      outRoot: work('out'),
    });
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => [s.box, s.box_from])).toEqual([
      [[8, 8, 16, 16], 'mask'],
      [[8, 8, 16, 16], 'mask'],
      [[8, 8, 16, 16], 'mask'],
    ]);
    expect((await checkClsDataset(report.dir)).ok).toBe(true);
  });

  describe('EXPECTED FAILURE: bad masks are one-line UserErrors', () => {
    it('no mask for the first image at any level names the paths tried', async () => {
      const empty = work('empty-masks');
      await mkdir(empty, { recursive: true });
      expect(
        await userErrorMessage(
          importCoop({ dataset: 'oxford_pets', root: root(), split: 'test', masks: empty, outRoot: work('bad') }),
        ),
      ).toBe(
        `${empty}: no mask for Abyssinian_100.jpg (listed at ${join(root(), PETS_JSON)}: test[0][0]): looked for ${join(empty, 'oxford_pets', 'images', 'Abyssinian_100.jpg')}, ${join(empty, 'images', 'Abyssinian_100.jpg')}, ${join(empty, 'Abyssinian_100.jpg')}`,
      );
    });

    it('a later image without its mask, a mask that does not decode, a --masks that is no folder', async () => {
      const tree = work('partial-masks');
      await writeMask(join(tree, 'Abyssinian_100.jpg'), 48, 32, () => 255);
      expect(
        await userErrorMessage(
          importCoop({ dataset: 'oxford_pets', root: root(), split: 'test', masks: tree, outRoot: work('bad') }),
        ),
      ).toBe(
        `${join(root(), 'images', 'american_bulldog_100.jpg')}: mask: not found: ${join(tree, 'american_bulldog_100.jpg')}`,
      );
      await writeText(join(tree, 'american_bulldog_100.jpg'), 'truncated');
      await userErrorMessage(
        importCoop({ dataset: 'oxford_pets', root: root(), split: 'test', masks: tree, outRoot: work('bad') }),
        `${join(tree, 'american_bulldog_100.jpg')}: mask: does not decode: `,
      );
      expect(
        await userErrorMessage(
          importCoop({ dataset: 'oxford_pets', root: root(), split: 'test', masks: petsJson(), outRoot: work('bad') }),
        ),
      ).toBe(`${petsJson()}: not a folder (--masks: the folder of foreground masks)`);
    });

    it('--masks with --boxes, --mask-region without --masks', async () => {
      const base = { dataset: 'oxford_pets', root: root(), split: 'test' as const, outRoot: work('bad') };
      expect(await userErrorMessage(importCoop({ ...base, masks: masks(), boxes: petsJson() }))).toBe(
        '--masks and --boxes: give one region source, not both',
      );
      expect(await userErrorMessage(importCoop({ ...base, maskRegion: 'largest' }))).toBe(
        '--mask-region: only with --masks (it picks which foreground pixels a mask box encloses)',
      );
    });
  });
});

describe('a box file (--boxes)', () => {
  const boxFile = (): string => work('boxes.txt');
  const importWith = (text: string) =>
    writeText(boxFile(), text).then(() =>
      importCoop({
        dataset: 'oxford_pets',
        root: petsRoot(),
        split: 'test',
        boxes: boxFile(),
        outRoot: work('out-boxes'),
      }),
    );

  it('one "<image> x y w h" line per image, keyed by the path the split lists; other splits\' lines unused', async () => {
    const report = await importWith(
      'Abyssinian_100.jpg 1 2 10 8\nAbyssinian_1.jpg 0 0 5 5\n\namerican_bulldog_100.jpg  0 0 40 60\nBengal_7.jpg 5.5 6 10.25 10\n',
    );
    const samples = await readClsManifest(join(report.dir, 'manifest.jsonl'));
    expect(samples.map((s) => [s.id, s.box, s.box_from])).toEqual([
      ['Abyssinian_100.jpg', [1, 2, 10, 8], 'box-file'],
      ['american_bulldog_100.jpg', [0, 0, 32, 48], 'box-file'],
      ['Bengal_7.jpg', [5.5, 6, 10.25, 10], 'box-file'],
    ]);
    expect(report.warnings).toEqual([
      `${boxFile()}:4: box: box [0, 0, 40, 60] extends outside the 32×48 image; clamped to [0, 0, 32, 48]`,
    ]);
    expect(report.notes).toEqual([`1 line(s) of ${boxFile()} name images outside this split: not used`]);
    expect(report.info.counts).toEqual({ images: 3, classes: 3, box_from_box_file: 3 });
    expect(report.info.options).toMatchObject({ boxes: boxFile() });
    expect(report.info.sources[1]).toEqual({ file: boxFile(), sha256: await sha256(boxFile()) });
    expect(await checkClsDataset(report.dir)).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  it('a path with spaces is everything before the last four fields', async () => {
    const root = work('spaced');
    await writeZhouRelease(root, 'images', PETS_JSON, [
      { split: 'test', image: 'Great Pyrenees 1.jpg', label: 0, name: 'great_pyrenees', width: 20, height: 20 },
    ]);
    await writeText(boxFile(), 'Great Pyrenees 1.jpg 2 3 4 5\n');
    const report = await importCoop({
      dataset: 'oxford_pets',
      root,
      split: 'test',
      boxes: boxFile(),
      outRoot: work('o'),
    });
    expect((await readClsManifest(join(report.dir, 'manifest.jsonl')))[0]!.box).toEqual([2, 3, 4, 5]);
  });

  describe('EXPECTED FAILURE: bad box files are one-line UserErrors naming file, line and field', () => {
    const good = 'Abyssinian_100.jpg 1 2 10 8\namerican_bulldog_100.jpg 0 0 4 6\nBengal_7.jpg 5 6 10 10\n';

    it.each([
      [
        'a box outside its image',
        good.replace('0 0 4 6', '40 50 4 6'),
        ':2: box: box [40, 50, 4, 6] lies entirely outside the 32×48 image',
      ],
      ['a zero-area box', good.replace('5 6 10 10', '5 6 0 10'), ':3: box: zero-area box [5, 6, 0, 10]'],
      ['a value that is no number', good.replace('1 2 10 8', '1 two 10 8'), ':1: y: expected a number, got "two"'],
      ['too few fields', good.replace('1 2 10 8', '1 2 10'), ':1: (line): expected "<image> x y w h"'],
      ['an image twice', `${good}Bengal_7.jpg 1 1 2 2\n`, `:4: image: Bengal_7.jpg already has a box at `],
    ])('%s', async (_, text, needle) => {
      await userErrorMessage(importWith(text), `${boxFile()}${needle}`);
    });

    it('an image of the split without a line', async () => {
      expect(await userErrorMessage(importWith(good.replace('Bengal_7.jpg 5 6 10 10\n', '')))).toBe(
        `${boxFile()}: image: no line for Bengal_7.jpg (listed at ${petsJson()}: test[2][0])`,
      );
    });
  });
});

describe('EXPECTED FAILURE: bad releases are one-line UserErrors naming file, index and field', () => {
  async function petsVariant(name: string, json: string, entries: readonly ZhouEntry[] = PETS): Promise<string> {
    const root = work('pets-variants', name);
    await writeZhouRelease(root, 'images', PETS_JSON, entries, json);
    return root;
  }
  const run = (root: string) => importCoop({ dataset: 'oxford_pets', root, split: 'test', outRoot: work('bad') });
  const swap = (edit: (e: ZhouEntry) => ZhouEntry) => zhouJson(PETS.map(edit));

  it('a listed image that is missing', async () => {
    const root = await petsVariant('missing-image', zhouJson(PETS));
    await rm(join(root, 'images', 'american_bulldog_100.jpg'));
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: test[1][0]: image not found: ${join(root, 'images', 'american_bulldog_100.jpg')}`,
    );
  });

  it('a label whose class name differs between entries', async () => {
    const root = await petsVariant(
      'mismatch',
      swap((e) => (e.image === 'Abyssinian_100.jpg' ? { ...e, name: 'cat' } : e)),
    );
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: test[0][2]: class name "cat" for label 0, but train[0][2] names label 0 "abyssinian"`,
    );
  });

  it('labels with a gap', async () => {
    const root = await petsVariant(
      'gap',
      swap((e) => (e.label === 2 ? { ...e, label: 3 } : e)),
    );
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: test[2][1]: label 3, but no entry has label 2 (labels must run 0..n−1, each used)`,
    );
  });

  it('a truncated JSON file', async () => {
    const json = zhouJson(PETS);
    const root = await petsVariant('truncated', json.slice(0, json.length - 40));
    await userErrorMessage(run(root), `${join(root, PETS_JSON)}: (file): not valid JSON (truncated?): `);
  });

  it('an entry of the wrong shape, a path out of the image folder, an image listed twice', async () => {
    let root = await petsVariant(
      'shape',
      zhouJson(PETS).replace('"Bengal_7.jpg",\n            2,', '"Bengal_7.jpg",\n            "2",'),
    );
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: test[2][1]: expected number, received string`,
    );
    root = await petsVariant(
      'escape',
      swap((e) => (e.image === 'Bengal_7.jpg' ? { ...e, image: '../Bengal_7.jpg' } : e)),
      PETS.slice(0, 4),
    );
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: test[2][0]: must stay inside the image folder (no '..' or absolute path)`,
    );
    root = await petsVariant('twice', zhouJson([...PETS, PETS[2]!]));
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: test[3][0]: Abyssinian_100.jpg is listed again (first at test[0][0])`,
    );
  });

  it('a file without the split, a missing split file or image folder', async () => {
    let root = await petsVariant('no-test', JSON.stringify({ train: [['Abyssinian_1.jpg', 0, 'abyssinian']] }));
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: test: missing (the file has no test split)`,
    );
    root = work('pets-variants', 'no-json');
    await writeJpeg(join(root, 'images', 'a.jpg'), 8, 8);
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, PETS_JSON)}: not found (--root: CoOp's oxford_pets/ folder, holding images/ and ${PETS_JSON})`,
    );
    root = work('pets-variants', 'no-images');
    await writeText(join(root, PETS_JSON), zhouJson(PETS));
    expect(await userErrorMessage(run(root))).toBe(
      `${join(root, 'images')}: not a folder (--root: CoOp's oxford_pets/ folder, holding images/ and ${PETS_JSON})`,
    );
  });

  it('FGVCAircraft: a variant not in variants.txt, a line without one', async () => {
    const root = work('fgvc-bad');
    await writeFgvcRelease(root, [...FGVC_TEST, ['0000001', 'Boeing 747']]);
    const list = join(root, 'images_variant_test.txt');
    expect(
      await userErrorMessage(importCoop({ dataset: 'fgvc_aircraft', root, split: 'test', outRoot: work('bad') })),
    ).toBe(`${list}:4: variant: "Boeing 747" is not in ${join(root, 'variants.txt')}`);
    await writeFile(list, '1514522\n');
    expect(
      await userErrorMessage(importCoop({ dataset: 'fgvc_aircraft', root, split: 'test', outRoot: work('bad') })),
    ).toBe(`${list}:1: (line): expected "<image id> <variant>"`);
  });
});

describe('the CLI', () => {
  it('falip data import coop --masks --mask-region, then falip data check passes', async () => {
    const root = work('cli', 'dtd', 'dtd');
    await writeZhouRelease(root, 'images', 'split_zhou_DescribableTextures.json', DTD);
    for (const e of DTD)
      await writeMask(join(work('cli', 'dtd', 'mask', 'dtd', 'images'), e.image), e.width, e.height, (x, y) =>
        inRect(x, y, [8, 8, 16, 16]) ? 255 : 0,
      );
    const env = { FALIP_DATASETS: work('cli-datasets') };
    const r = expectOk(
      await runFalip(
        [
          'data',
          'import',
          'coop',
          '--dataset',
          'dtd',
          '--root',
          root,
          '--masks',
          work('cli', 'dtd', 'mask'),
          '--mask-region',
          'largest',
        ],
        env,
      ),
    );
    expect(r.stdout).toContain(`imported dtd/test into ${join(work('cli-datasets'), 'dtd', 'test')}`);
    expect(r.stdout).toContain('2 images, 2 classes, 2 box from mask largest, 0 box from image');
    const check = expectOk(await runFalip(['data', 'check', 'dtd'], env));
    expect(check.stdout).toContain('images');
    expectUserError(
      await runFalip(['data', 'import', 'coop', '--dataset', 'dtd', '--root', work('cli', 'nowhere')], env),
      `${work('cli', 'nowhere')}: not a folder (--root: CoOp's dtd/ folder`,
    );
  });

  it('registers the ten CoOp datasets and ImageNet with their paper labels, split and import command', () => {
    const d = classificationTask.datasets;
    expect(
      [
        'caltech101',
        'oxford_pets',
        'stanford_cars',
        'oxford_flowers',
        'food101',
        'fgvc_aircraft',
        'sun397',
        'dtd',
        'eurosat',
        'ucf101',
        'imagenet',
      ].map((n) => [n, d[n]?.label, d[n]?.splits]),
    ).toEqual([
      ['caltech101', 'Caltech101', ['test']],
      ['oxford_pets', 'OxfordPets', ['test']],
      ['stanford_cars', 'StanfordCars', ['test']],
      ['oxford_flowers', 'Flowers102', ['test']],
      ['food101', 'Food101', ['test']],
      ['fgvc_aircraft', 'FGVCAircraft', ['test']],
      ['sun397', 'SUN397', ['test']],
      ['dtd', 'DTD', ['test']],
      ['eurosat', 'EuroSAT', ['test']],
      ['ucf101', 'UCF101', ['test']],
      ['imagenet', 'ImageNet', ['val']],
    ]);
    expect(d.oxford_pets!.importCommand('test')).toBe(
      'falip data import coop --dataset oxford_pets --root oxford_pets',
    );
    expect(d.food101!.importCommand('train')).toBe(
      'falip data import coop --dataset food101 --root food-101 --split train',
    );
    expect(d.imagenet!.importCommand('val')).toBe('falip data import imagenet --root imagenet');
  });
});
