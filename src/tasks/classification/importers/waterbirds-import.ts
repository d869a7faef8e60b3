import { join, resolve } from 'node:path';
import type { BoxXYWH } from '../../../image/box.js';
import { UserError } from '../../../util/errors.js';
import type { DatasetInfo } from '../../../datasets/dataset-info.js';
import { type DatasetImport, importDataset } from '../../../datasets/dataset-store.js';
import type { DatasetImporter, ImportReport } from '../../../datasets/importer.js';
import { boxForManifest } from '../../../datasets/box-problems.js';
import { countClsSamples, writeClsDataset, type ClsClasses, type ClsSample } from '../cls-manifest.js';
import { readCubBoxes, readCubImageNames } from './cub-import.js';
import { readImageSizes } from '../../../datasets/image-headers.js';
import { table8Note } from './paper-counts.js';
import { fileSource } from '../../../datasets/source-files.js';
import { readTextFile } from '../../../util/text-file.js';
import { tableRow, type TableRow } from '../../../datasets/text-files.js';
import { csvRecords } from '../../../datasets/csv-records.js';

export const WATERBIRDS_SPLITS = ['test', 'val', 'train', 'all'] as const;
export type WaterbirdsSplit = (typeof WATERBIRDS_SPLITS)[number];

/** metadata.csv's split codes (group_DRO's generator). */
const SPLIT_CODES = { train: 0, val: 1, test: 2 } as const;
const SPLIT_NAMES = ['train', 'val', 'test'] as const;

/** The columns falip reads; others (a leading index column, WILDS' extras) are ignored. */
const COLUMNS = ['img_id', 'img_filename', 'y', 'split', 'place', 'place_filename'] as const;

export const WATERBIRDS_CLASSES: ClsClasses = {
  names: ['landbird', 'waterbird'],
  template: 'a photo of a {}.',
  names_source: "metadata.csv y: 0 = landbird, 1 = waterbird (group_DRO's Waterbirds)",
  template_source:
    'the usual zero-shot Waterbirds prompt ("a photo of a landbird." / "a photo of a waterbird."); FALIP does not state its template',
  notes: [
    'group = (y, place); place 0 = land background (bamboo forest, broadleaf forest), 1 = water background (ocean, natural lake).',
  ],
};

/** One metadata.csv row, checked against CUB. */
interface WaterbirdsRecord {
  where: string;
  id: number;
  image: string;
  y: number;
  split: number;
  place: number;
  scene: string | undefined;
  box: BoxXYWH;
}

export interface WaterbirdsImportOptions {
  /** The unpacked Waterbirds folder: metadata.csv and the CUB-named class folders of JPEGs. */
  root: string;
  /** The CUB_200_2011 folder the images were made from (for images.txt and bounding_boxes.txt). */
  cubRoot: string;
  split: WaterbirdsSplit;
  outRoot?: string;
}

/** metadata.csv as rows by column name; each row names the line it starts on (the header is line 1). */
async function readWaterbirdsMetadata(path: string): Promise<TableRow[]> {
  const records = csvRecords(await readTextFile(path), path);
  // pandas writes its index as a first column with an empty name.
  const header = (records[0]?.fields ?? []).map((h) => (h.trim() === '' ? '(index)' : h.trim()));
  for (const column of COLUMNS) {
    if (!header.includes(column))
      throw new UserError(`${path}:1: (header): no column ${column} (expected ${COLUMNS.join(', ')})`);
  }
  // Blank lines (a trailing one) are not records.
  return records
    .slice(1)
    .filter(({ fields }) => fields.some((f) => f.trim() !== ''))
    .map(({ fields, line }) =>
      tableRow(
        `${path}:${line}`,
        header,
        fields.map((f) => f.trim()),
      ),
    );
}

export async function importWaterbirds(opts: WaterbirdsImportOptions): Promise<ImportReport> {
  return importDataset('waterbirds', opts.split, opts.outRoot, (target) => importWaterbirdsInto(opts, target));
}

async function importWaterbirdsInto(
  opts: WaterbirdsImportOptions,
  { dir, staging }: DatasetImport,
): Promise<ImportReport> {
  const root = resolve(opts.root);
  const cubRoot = resolve(opts.cubRoot);
  const metadata = join(root, 'metadata.csv');
  const cubImagesFile = join(cubRoot, 'images.txt');
  const cubBoxesFile = join(cubRoot, 'bounding_boxes.txt');
  const rows = await readWaterbirdsMetadata(metadata);
  const cubNames = await readCubImageNames(cubRoot);
  const cubBoxes = await readCubBoxes(cubRoot);

  // Every row is checked, not only the chosen split's: a damaged file should not import half-read.
  const firstLineOfId = new Map<number, string>();
  const records = rows.map((row): WaterbirdsRecord => {
    const id = row.integer('img_id');
    const first = firstLineOfId.get(id);
    if (first !== undefined) throw new UserError(`${row.where}: img_id: duplicate img_id ${id} (first at ${first})`);
    firstLineOfId.set(id, row.where);
    const image = row.text('img_filename');
    const cubName = cubNames.get(id);
    if (!cubName) throw new UserError(`${row.where}: img_id: ${id} is not a CUB image id (${cubImagesFile})`);
    // The box is CUB's, so the image must be the same CUB photo.
    if (cubName.value !== image)
      throw new UserError(
        `${row.where}: img_filename: "${image}", but ${cubName.where} names "${cubName.value}" for img_id ${id}`,
      );
    const box = cubBoxes.get(id);
    if (!box) throw new UserError(`${row.where}: img_id: CUB image ${id} has no box in ${cubBoxesFile}`);
    return {
      where: row.where,
      id,
      image,
      y: row.code('y', [0, 1]),
      split: row.code('split', [0, 1, 2]),
      place: row.code('place', [0, 1]),
      scene: placeScene(row.text('place_filename')),
      box: box.value,
    };
  });
  const chosen = records.filter((r) => opts.split === 'all' || r.split === SPLIT_CODES[opts.split]);
  if (chosen.length === 0) throw new UserError(`${metadata}: no images in split ${opts.split}`);

  const sizes = await readImageSizes(chosen, root, 'img_filename');
  const warnings: string[] = [];
  const samples = chosen.map((r): ClsSample => {
    const size = sizes.get(r.image)!;
    return {
      id: String(r.id),
      image: r.image,
      ...size,
      label: r.y,
      box: boxForManifest(r.box, size, r.where, 'box', warnings),
      source_split: SPLIT_NAMES[r.split]!,
      group: { y: r.y, place: r.place },
      ...(r.scene === undefined ? {} : { place_scene: r.scene }),
    };
  });

  const inGroup = (y: number, place: number): number =>
    samples.filter((s) => s.group!.y === y && s.group!.place === place).length;
  const info: DatasetInfo = {
    name: 'waterbirds',
    split: opts.split,
    task: 'classification',
    image_root: root,
    sources: await Promise.all([metadata, cubImagesFile, cubBoxesFile].map(fileSource)),
    counts: {
      ...countClsSamples(samples, WATERBIRDS_CLASSES),
      landbird_on_land: inGroup(0, 0),
      landbird_on_water: inGroup(0, 1),
      waterbird_on_land: inGroup(1, 0),
      waterbird_on_water: inGroup(1, 1),
    },
    options: {
      box_source: "CUB bounding_boxes.txt by img_id (a Waterbirds image keeps the CUB photo's size and position)",
    },
    created_by: `falip data import waterbirds --split ${opts.split}`,
  };
  await writeClsDataset(staging, samples, WATERBIRDS_CLASSES, info);
  const notes = opts.split === 'test' ? [table8Note('waterbirds', countClsSamples(samples, WATERBIRDS_CLASSES))] : [];
  return { dir, info, notes, warnings };
}

/** "/b/bamboo_forest/00000001.jpg" → "bamboo_forest"; "/f/forest/broadleaf/0001.jpg" → "forest/broadleaf" (Places365 paths). */
function placeScene(placeFilename: string): string | undefined {
  const parts = placeFilename.split('/').filter((p) => p !== '');
  return parts.length >= 3 ? parts.slice(1, -1).join('/') : undefined;
}

/** `falip data import waterbirds`. */
export const waterbirdsImporter: DatasetImporter = {
  name: 'waterbirds',
  summary:
    'import Waterbirds as released (metadata.csv + images) into <datasets>/waterbirds/<split>/, boxes from the CUB release',
  options: [
    {
      flags: '--root <dir>',
      help: 'the unpacked Waterbirds folder (metadata.csv and the class folders of images)',
      required: true,
    },
    {
      flags: '--cub-root <dir>',
      help: 'the CUB_200_2011 folder (images.txt and bounding_boxes.txt give each image its box)',
      required: true,
    },
    {
      flags: '--split <name>',
      help: "metadata.csv's split: test (the paper's 5,794), val, train or all",
      defaultValue: 'test',
      choices: WATERBIRDS_SPLITS,
    },
  ],
  run: (o, outRoot) =>
    importWaterbirds({ root: o.root!, cubRoot: o.cubRoot!, split: o.split as WaterbirdsSplit, outRoot }),
};
