import { join, resolve } from 'node:path';
import type { BoxXYWH } from '../../../image/box.js';
import { UserError } from '../../../util/errors.js';
import type { DatasetInfo } from '../../../datasets/dataset-info.js';
import { type DatasetImport, importDataset } from '../../../datasets/dataset-store.js';
import type { DatasetImporter, ImportReport } from '../../../datasets/importer.js';
import { boxForManifest } from '../../../datasets/box-problems.js';
import { staysInside } from '../../../datasets/image-path.js';
import { countClsSamples, writeClsDataset, type ClsClasses, type ClsSample } from '../cls-manifest.js';
import { readImageSizes } from '../../../datasets/image-headers.js';
import { table8Note } from './paper-counts.js';
import { fileSource } from '../../../datasets/source-files.js';
import { readWhitespaceTable, type TableRow } from '../../../datasets/text-files.js';

export const CUB_SPLITS = ['all', 'train', 'test'] as const;
export type CubSplit = (typeof CUB_SPLITS)[number];

/** The bird template of CLIP's prompt list (its Birdsnap entry), also the usual CUB template; FALIP states none. */
export const CUB_TEMPLATE = 'a photo of a {}, a type of bird.';

/** One value per CUB image id, with the line it came from. */
export type CubList<T> = Map<number, { where: string; value: T }>;

/** images.txt: image id → path under `images/`, e.g. `001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg`. */
export async function readCubImageNames(cubRoot: string): Promise<CubList<string>> {
  const path = join(cubRoot, 'images.txt');
  // A name that climbs out of images/ is refused here, before any file is opened by it.
  const names = byImageId(await readWhitespaceTable(path, ['image_id', 'image_name']), (row) => {
    const name = row.text('image_name');
    if (!staysInside(name))
      throw new UserError(
        `${row.where}: image_name: "${name}" must stay inside the images/ folder (no '..' or absolute path)`,
      );
    return name;
  });
  if (names.size === 0) throw new UserError(`${path}: no images in the file`);
  return names;
}

/** bounding_boxes.txt: image id → its one box, xywh in pixels. */
export async function readCubBoxes(cubRoot: string): Promise<CubList<BoxXYWH>> {
  const rows = await readWhitespaceTable(join(cubRoot, 'bounding_boxes.txt'), [
    'image_id',
    'x',
    'y',
    'width',
    'height',
  ]);
  return byImageId(
    rows,
    (row): BoxXYWH => [row.number('x'), row.number('y'), row.number('width'), row.number('height')],
  );
}

/** "001.Black_footed_Albatross" → "Black footed Albatross". */
function cubClassName(folder: string): string {
  return folder.replace(/^\d+\./, '').replaceAll('_', ' ');
}

/** Every id of `list` is in images.txt and every image has a line in `list`. */
function requireSameImages(names: CubList<string>, list: CubList<unknown>, namesFile: string, listFile: string): void {
  for (const [id, { where }] of list)
    if (!names.has(id)) throw new UserError(`${where}: image_id: ${id} is not in ${namesFile}`);
  for (const [id, { where }] of names)
    if (!list.has(id)) throw new UserError(`${where}: image_id: image ${id} has no line in ${listFile}`);
}

/** One value per image id; a repeated id is an error naming both lines. */
function byImageId<T>(rows: readonly TableRow[], value: (row: TableRow) => T): CubList<T> {
  const out: CubList<T> = new Map();
  for (const row of rows) {
    const id = row.integer('image_id');
    const first = out.get(id);
    if (first) throw new UserError(`${row.where}: image_id: duplicate image id ${id} (first at ${first.where})`);
    out.set(id, { where: row.where, value: value(row) });
  }
  return out;
}

/** classes.txt: label = class_id − 1, so the ids must run 1..N in order. */
async function readCubClasses(cubRoot: string): Promise<ClsClasses> {
  const path = join(cubRoot, 'classes.txt');
  const folders = (await readWhitespaceTable(path, ['class_id', 'class_name'])).map((row, i) => {
    const id = row.integer('class_id');
    if (id !== i + 1)
      throw new UserError(`${row.where}: class_id: expected ${i + 1} (class ids run 1..N in order), got ${id}`);
    return row.text('class_name');
  });
  if (folders.length === 0) throw new UserError(`${path}: no classes in the file`);
  return {
    names: folders.map(cubClassName),
    template: CUB_TEMPLATE,
    names_source: 'CUB-200-2011 classes.txt: the NNN. prefix stripped, underscores replaced by spaces',
    template_source:
      "CLIP's bird template (openai/CLIP data/prompts.md, Birdsnap), the usual CUB template; FALIP does not state its template",
    source_ids: folders,
  };
}

export interface CubImportOptions {
  /** The unpacked CUB_200_2011 folder. */
  root: string;
  split: CubSplit;
  outRoot?: string;
}

export async function importCub(opts: CubImportOptions): Promise<ImportReport> {
  return importDataset('cub', opts.split, opts.outRoot, (target) => importCubInto(opts, target));
}

async function importCubInto(opts: CubImportOptions, { dir, staging }: DatasetImport): Promise<ImportReport> {
  const root = resolve(opts.root);
  const file = (name: string): string => join(root, name);
  const classes = await readCubClasses(root);
  const names = await readCubImageNames(root);
  const labels = byImageId(
    await readWhitespaceTable(file('image_class_labels.txt'), ['image_id', 'class_id']),
    (row) => {
      const classId = row.integer('class_id');
      if (classId < 1 || classId > classes.names.length) {
        throw new UserError(
          `${row.where}: class_id: unknown class id ${classId} (classes.txt has 1..${classes.names.length})`,
        );
      }
      return classId - 1;
    },
  );
  const isTrain = byImageId(
    await readWhitespaceTable(file('train_test_split.txt'), ['image_id', 'is_training_image']),
    (row) => row.code('is_training_image', [0, 1]) === 1,
  );
  const boxes = await readCubBoxes(root);
  requireSameImages(names, labels, file('images.txt'), file('image_class_labels.txt'));
  requireSameImages(names, isTrain, file('images.txt'), file('train_test_split.txt'));
  requireSameImages(names, boxes, file('images.txt'), file('bounding_boxes.txt'));

  const chosen = [...names].filter(
    ([id]) => opts.split === 'all' || isTrain.get(id)!.value === (opts.split === 'train'),
  );
  const imageRoot = file('images');
  const sizes = await readImageSizes(
    chosen.map(([, { where, value }]) => ({ image: value, where })),
    imageRoot,
    'image_name',
  );
  const warnings: string[] = [];
  const samples = chosen.map(([id, { value: image }]): ClsSample => {
    const size = sizes.get(image)!;
    const box = boxes.get(id)!;
    return {
      id: String(id),
      image,
      ...size,
      label: labels.get(id)!.value,
      box: boxForManifest(box.value, size, box.where, 'box', warnings),
      source_split: isTrain.get(id)!.value ? 'train' : 'test',
    };
  });

  const counts = countClsSamples(samples, classes);
  const sourceFiles = [
    'classes.txt',
    'images.txt',
    'image_class_labels.txt',
    'train_test_split.txt',
    'bounding_boxes.txt',
  ].map(file);
  const info: DatasetInfo = {
    name: 'cub',
    split: opts.split,
    task: 'classification',
    image_root: imageRoot,
    sources: await Promise.all(sourceFiles.map(fileSource)),
    counts,
    options: { box_source: 'bounding_boxes.txt (one box per image)' },
    created_by: `falip data import cub --split ${opts.split}`,
  };
  await writeClsDataset(staging, samples, classes, info);
  const notes = opts.split === 'all' ? [table8Note('cub', countClsSamples(samples, classes))] : [];
  return { dir, info, notes, warnings };
}

/** `falip data import cub`. */
export const cubImporter: DatasetImporter = {
  name: 'cub',
  summary:
    'import CUB-200-2011 as released (images.txt, classes.txt, image_class_labels.txt, train_test_split.txt, bounding_boxes.txt, images/) into <datasets>/cub/<split>/',
  options: [
    { flags: '--root <dir>', help: 'the unpacked CUB_200_2011 folder', required: true },
    {
      flags: '--split <name>',
      help: "which images: all (the paper's 11,788), CUB's train or test",
      defaultValue: 'all',
      choices: CUB_SPLITS,
    },
  ],
  run: (o, outRoot) => importCub({ root: o.root!, split: o.split as CubSplit, outRoot }),
};
