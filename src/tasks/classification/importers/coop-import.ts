import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DatasetInfo } from '../../../datasets/dataset-info.js';
import { type DatasetImport, importDataset } from '../../../datasets/dataset-store.js';
import { MASK_REGION_POLICIES, type MaskRegionPolicy } from '../../../datasets/foreground-mask.js';
import type { DatasetImporter, ImporterOption, ImportReport } from '../../../datasets/importer.js';
import { fileSource } from '../../../datasets/source-files.js';
import { UserError } from '../../../util/errors.js';
import { countClsSamples, writeClsDataset, type ClsClasses } from '../cls-manifest.js';
import {
  COOP_DATASETS,
  COOP_SPLITS,
  coopPromptName,
  coopTemplateSource,
  type CoopDataset,
  type CoopSplit,
} from './coop-datasets.js';
import { readFgvcSplit, readZhouSplit, type CoopSplitList } from './coop-split-file.js';
import { boxListedImages, type RegionOptions } from './region-boxes.js';

export interface CoopImportOptions extends RegionOptions {
  /** falip's name of the dataset (COOP_DATASETS). */
  dataset: string;
  /** CoOp's dataset folder: the image sub-folder and the split file. */
  root: string;
  split: CoopSplit;
  outRoot?: string;
}

export function coopDataset(name: string): CoopDataset {
  const d = COOP_DATASETS.find((x) => x.name === name);
  if (!d) throw new UserError(`--dataset ${name}: not a CoOp dataset (${COOP_DATASETS.map((x) => x.name).join(', ')})`);
  return d;
}

export async function importCoop(opts: CoopImportOptions): Promise<ImportReport> {
  return importDataset(coopDataset(opts.dataset).name, opts.split, opts.outRoot, (target) =>
    importCoopInto(opts, target),
  );
}

async function importCoopInto(opts: CoopImportOptions, { dir, staging }: DatasetImport): Promise<ImportReport> {
  const d = coopDataset(opts.dataset);
  const root = resolve(opts.root);
  const imageRoot = join(root, d.images);
  const layout = `CoOp's ${d.folder}/ folder, holding ${d.images === '' ? 'the images' : `${d.images}/`} and ${d.splitFile === 'fgvc-lists' ? 'variants.txt, images_variant_<split>.txt' : d.splitFile}`;
  for (const folder of new Set([root, imageRoot])) {
    if (!(await stat(folder).catch(() => undefined))?.isDirectory())
      throw new UserError(`${folder}: not a folder (--root: ${layout})`);
  }
  const list: CoopSplitList =
    d.splitFile === 'fgvc-lists'
      ? await readFgvcSplit(root, opts.split)
      : await readZhouSplit(await requireFile(join(root, d.splitFile), layout), opts.split);
  const boxed = await boxListedImages(list.images, { datasetFolder: root, imageRoot }, opts);

  const classes: ClsClasses = {
    names: list.classNames.map(coopPromptName),
    template: d.template,
    names_source: `${list.files[0]}: each label's class name (${d.names}), "_" → " " as CoOp's prompts do`,
    template_source: coopTemplateSource(d.dassl),
    source_ids: list.classNames,
  };
  const info: DatasetInfo = {
    name: d.name,
    split: opts.split,
    task: 'classification',
    image_root: imageRoot,
    sources: [...(await Promise.all(list.files.map(fileSource))), ...boxed.sources],
    counts: { ...countClsSamples(boxed.samples, classes), ...boxed.counts },
    options: boxed.options,
    created_by: `falip data import coop --dataset ${d.name} --split ${opts.split}${boxed.flags}`,
  };
  await writeClsDataset(staging, boxed.samples, classes, info);
  return { dir, info, notes: boxed.notes, warnings: [...sameNameWarnings(classes, list.files[0]!), ...boxed.warnings] };
}

async function requireFile(path: string, layout: string): Promise<string> {
  if (!(await stat(path).catch(() => undefined))?.isFile())
    throw new UserError(`${path}: not found (--root: ${layout})`);
  return path;
}

/** Two labels with one name get one caption: the classifier cannot tell them apart, which a table should know. */
export function sameNameWarnings(classes: ClsClasses, file: string): string[] {
  const firstLabel = new Map<string, number>();
  const warnings: string[] = [];
  classes.names.forEach((name, label) => {
    const first = firstLabel.get(name);
    if (first === undefined) firstLabel.set(name, label);
    else warnings.push(`${file}: labels ${first} and ${label} are both named "${name}": their captions are the same`);
  });
  return warnings;
}

/** The region flags both prompt-learning importers take. */
export const REGION_OPTIONS: readonly ImporterOption[] = [
  {
    flags: '--masks <dir>',
    help: "foreground masks (FVG-PT's mask/ folder: white = foreground, binarised as mean RGB > 0.5); each image's box is its mask's bounding box, the whole image where the mask is empty",
  },
  {
    flags: '--mask-region <which>',
    help: 'with --masks: enclose all foreground pixels, or only the largest 8-connected region (default: all)',
    choices: MASK_REGION_POLICIES,
  },
  {
    flags: '--boxes <file>',
    help: 'a box per image instead of masks (a detector, SAM): lines "<image path as the split lists it> x y w h" in image pixels',
  },
];

/** The region options of a command line. */
export function regionOptions(o: Record<string, string | undefined>): RegionOptions {
  return { masks: o.masks, maskRegion: o.maskRegion as MaskRegionPolicy | undefined, boxes: o.boxes };
}

/** `falip data import coop`. */
export const coopImporter: DatasetImporter = {
  name: 'coop',
  summary:
    "import one of CoOp's ten prompt-learning datasets (its split_zhou JSON, FGVCAircraft's lists) into <datasets>/<dataset>/<split>/",
  options: [
    {
      flags: '--dataset <name>',
      help: "which dataset (CoOp's config name)",
      required: true,
      choices: COOP_DATASETS.map((d) => d.name),
    },
    {
      flags: '--root <dir>',
      help: "CoOp's dataset folder (e.g. oxford_pets/, holding images/ and split_zhou_OxfordPets.json)",
      required: true,
    },
    { flags: '--split <name>', help: 'the split of the split file', defaultValue: 'test', choices: COOP_SPLITS },
    ...REGION_OPTIONS,
  ],
  run: (o, outRoot) =>
    importCoop({ dataset: o.dataset!, root: o.root!, split: o.split as CoopSplit, outRoot, ...regionOptions(o) }),
};
