/** `falip data import scanobjectnn`: one h5 file of the ScanObjectNN release (`h5_files/main_split*`). */
import { basename, dirname, resolve } from 'node:path';
import { UserError } from '../../../util/errors.js';
import type { DatasetImporter, ImportReport } from '../../../datasets/importer.js';
import { importClouds } from './pc-import.js';

/** The release's label order (its training-data FAQ; PointCLIP V2 uses the same list). */
export const SCANOBJECTNN_CLASSES = [
  'bag',
  'bin',
  'box',
  'cabinet',
  'chair',
  'desk',
  'display',
  'door',
  'shelf',
  'table',
  'bed',
  'pillow',
  'sink',
  'sofa',
  'toilet',
] as const;

/**
 * obj_bg: each object with the background points around it (`h5_files/main_split/`); obj_only: the
 * object's points alone (`h5_files/main_split_nobg/`). Same file names and cloud counts in both.
 */
export const SCANOBJECTNN_VARIANTS = ['obj_bg', 'obj_only'] as const;
export type ScanObjectNNVariant = (typeof SCANOBJECTNN_VARIANTS)[number];

/** The release folder each variant lives in, to catch a --variant that contradicts the file given. */
const VARIANT_FOLDERS: Record<ScanObjectNNVariant, string> = { obj_bg: 'main_split', obj_only: 'main_split_nobg' };

/** FALIP's Table 9: 576 clouds, i.e. the 581-cloud test file cut to whole batches (576 = 9 × 64). */
export const SCANOBJECTNN_PAPER_CLOUDS = 576;

export interface ScanObjectNNImportOptions {
  /** e.g. `h5_files/main_split/test_objectdataset.h5`. */
  h5: string;
  variant: ScanObjectNNVariant;
  /** Keep only the first N clouds. */
  first?: number;
  outRoot?: string;
}

export async function importScanObjectNN(opts: ScanObjectNNImportOptions): Promise<ImportReport> {
  const h5 = resolve(opts.h5);
  const report = await importClouds({
    name: 'scanobjectnn',
    files: [h5],
    rawNames: SCANOBJECTNN_CLASSES,
    namesSource: "built in: the ScanObjectNN release's label order (bag 0 ... toilet 14)",
    otherSources: [],
    first: opts.first,
    sourceRoot: dirname(h5),
    createdBy: `falip data import scanobjectnn (${opts.variant}${opts.first === undefined ? '' : `, first ${opts.first}`})`,
    paperCount: SCANOBJECTNN_PAPER_CLOUDS,
    outRoot: opts.outRoot,
    options: { variant: opts.variant, ...(opts.first === undefined ? {} : { first: opts.first }) },
  });
  const folder = basename(dirname(h5));
  const other = SCANOBJECTNN_VARIANTS.find((v) => v !== opts.variant && VARIANT_FOLDERS[v] === folder);
  if (other !== undefined) {
    report.warnings.push(
      `${h5}: it is in ${folder}/, the ${other} folder, but --variant ${opts.variant} was given: the file decides the data, dataset.json records ${opts.variant}`,
    );
  }
  return report;
}

function parseFirst(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UserError(`--first ${text}: expected a positive integer`);
  return Number(text);
}

export const scanobjectnnImporter: DatasetImporter = {
  name: 'scanobjectnn',
  summary:
    'import ScanObjectNN test clouds from one release h5 file (e.g. main_split/test_objectdataset.h5) into <datasets>/scanobjectnn/test/',
  options: [
    {
      flags: '--h5 <file>',
      help: 'the release h5 file: data [N, 2048, 3], label [N] (read in place, never copied)',
      required: true,
    },
    {
      flags: '--variant <name>',
      help: 'which variant the file is, recorded in dataset.json (the file decides the data): obj_bg = objects with their background points (h5_files/main_split/), obj_only = object points only (h5_files/main_split_nobg/)',
      defaultValue: 'obj_bg',
      choices: SCANOBJECTNN_VARIANTS,
    },
    {
      flags: '--first <n>',
      help: "keep only the first N clouds in file order (default: all); --first 576 gives the FALIP paper's count, the 581-cloud test file cut to whole batches",
    },
  ],
  run: (o, outRoot) =>
    importScanObjectNN({ h5: o.h5!, variant: o.variant as ScanObjectNNVariant, first: parseFirst(o.first), outRoot }),
};
