import { join, resolve } from 'node:path';
import type { DatasetInfo } from '../../../datasets/dataset-info.js';
import { type DatasetImport, importDataset } from '../../../datasets/dataset-store.js';
import type { DatasetImporter, ImportReport } from '../../../datasets/importer.js';
import { listEntries } from '../../../datasets/release-folders.js';
import { fileSource } from '../../../datasets/source-files.js';
import { UserError } from '../../../util/errors.js';
import { nonBlankLines, readTextFile } from '../../../util/text-file.js';
import { countClsSamples, writeClsDataset, type ClsClasses } from '../cls-manifest.js';
import { coopPromptName, coopTemplateSource } from './coop-datasets.js';
import { REGION_OPTIONS, regionOptions, sameNameWarnings } from './coop-import.js';
import { boxListedImages, type ListedImage, type RegionOptions } from './region-boxes.js';

/**
 * ImageNet as CoOp reads it (datasets/imagenet.py): `imagenet/images/<split>/<wnid>/<file>` and
 * `imagenet/classnames.txt` ("<wnid> <class name>" lines, CLIP's names). The labels are the sorted
 * wnid folders found under the split's folder, not the lines of classnames.txt, which only names them;
 * every file of a folder is an image (CoOp's listdir_nohidden). CoOp evaluates on `val`.
 */

export const IMAGENET_SPLITS = ['val', 'train'] as const;
export type ImageNetSplit = (typeof IMAGENET_SPLITS)[number];

export interface ImageNetImportOptions extends RegionOptions {
  /** CoOp's imagenet/ folder: images/<split>/ and classnames.txt. */
  root: string;
  split: ImageNetSplit;
  /** Instead of <root>/classnames.txt. */
  classnames?: string;
  outRoot?: string;
}

/** classnames.txt: wnid → name, in file order; a malformed or repeated wnid is an error naming its line. */
export async function readImageNetClassnames(file: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const lineOf = new Map<string, string>();
  for (const { text, where } of nonBlankLines(await readTextFile(file), file)) {
    const m = /^(\S+)\s+(.*\S)\s*$/.exec(text.trim());
    if (!m) throw new UserError(`${where}: (line): expected "<wnid> <class name>"`);
    const [, wnid, name] = m as unknown as [string, string, string];
    if (!/^n\d{8}$/.test(wnid)) throw new UserError(`${where}: wnid: expected a wnid like n01440764, got "${wnid}"`);
    const first = lineOf.get(wnid);
    if (first !== undefined) throw new UserError(`${where}: wnid: ${wnid} is also at ${first}`);
    lineOf.set(wnid, where);
    names.set(wnid, name);
  }
  if (names.size === 0) throw new UserError(`${file}: no classes`);
  return names;
}

export async function importImageNet(opts: ImageNetImportOptions): Promise<ImportReport> {
  return importDataset('imagenet', opts.split, opts.outRoot, (target) => importImageNetInto(opts, target));
}

async function importImageNetInto(opts: ImageNetImportOptions, { dir, staging }: DatasetImport): Promise<ImportReport> {
  const root = resolve(opts.root);
  const classnamesFile = resolve(opts.classnames ?? join(root, 'classnames.txt'));
  const names = await readImageNetClassnames(classnamesFile);
  const imageRoot = join(root, 'images', opts.split);
  const wnids = await listEntries(imageRoot, 'folders', `CoOp's imagenet/images/${opts.split}/<wnid>/ folders`);
  if (wnids.length === 0)
    throw new UserError(
      `${imageRoot}: no wnid folders (CoOp reads images/${opts.split}/<wnid>/<file>: sort a flat validation folder into class folders first)`,
    );
  const images: ListedImage[] = [];
  for (const [label, wnid] of wnids.entries()) {
    const folder = join(imageRoot, wnid);
    if (!names.has(wnid)) throw new UserError(`${folder}: folder: ${wnid} has no line in ${classnamesFile}`);
    for (const file of await listEntries(folder, 'files', 'images'))
      images.push({ image: `${wnid}/${file}`, label, where: join(folder, file), field: 'image' });
  }
  if (images.length === 0) throw new UserError(`${imageRoot}: no images in the wnid folders`);
  const boxed = await boxListedImages(images, { datasetFolder: root, imageRoot }, opts);

  const classes: ClsClasses = {
    names: wnids.map((w) => coopPromptName(names.get(w)!)),
    template: 'a photo of a {}.',
    names_source: `${classnamesFile}: the name of each wnid (CLIP's ImageNet names, as CoOp ships them), "_" → " " as CoOp's prompts do`,
    template_source: coopTemplateSource('ImageNet'),
    source_ids: wnids,
    notes: ['Label = position of the wnid among the sorted wnid folders of the split (CoOp datasets/imagenet.py).'],
  };
  const present = new Set(wnids);
  const folderless = [...names.keys()].filter((w) => !present.has(w));
  const info: DatasetInfo = {
    name: 'imagenet',
    split: opts.split,
    task: 'classification',
    image_root: imageRoot,
    sources: [await fileSource(classnamesFile), ...boxed.sources],
    counts: { ...countClsSamples(boxed.samples, classes), ...boxed.counts },
    options: boxed.options,
    created_by: `falip data import imagenet --split ${opts.split}${opts.classnames === undefined ? '' : ' --classnames FILE'}${boxed.flags}`,
  };
  await writeClsDataset(staging, boxed.samples, classes, info);
  const warnings = [
    ...(folderless.length > 0
      ? [
          `${classnamesFile}: ${folderless.length} wnid(s) have no folder under ${imageRoot} (first: ${folderless[0]}): not classes of this import, and later labels shift, as in CoOp`,
        ]
      : []),
    ...sameNameWarnings(classes, classnamesFile),
    ...boxed.warnings,
  ];
  return { dir, info, notes: boxed.notes, warnings };
}

/** `falip data import imagenet`. */
export const imageNetImporter: DatasetImporter = {
  name: 'imagenet',
  summary:
    "import ImageNet as CoOp reads it (images/<split>/<wnid>/ and CoOp's classnames.txt; the val set is the prompt-learning test set) into <datasets>/imagenet/<split>/",
  options: [
    {
      flags: '--root <dir>',
      help: "CoOp's imagenet/ folder, holding images/val/<wnid>/ and classnames.txt",
      required: true,
    },
    { flags: '--split <name>', help: 'the folder under images/', defaultValue: 'val', choices: IMAGENET_SPLITS },
    { flags: '--classnames <file>', help: 'instead of <root>/classnames.txt ("<wnid> <class name>" lines)' },
    ...REGION_OPTIONS,
  ],
  run: (o, outRoot) =>
    importImageNet({
      root: o.root!,
      split: o.split as ImageNetSplit,
      classnames: o.classnames,
      outRoot,
      ...regionOptions(o),
    }),
};
