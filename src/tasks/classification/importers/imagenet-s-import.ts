import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { counted, workProgress } from '../../../util/work-progress.js';
import { UserError } from '../../../util/errors.js';
import { sha256Hex } from '../../../util/sha256.js';
import type { DatasetInfo } from '../../../datasets/dataset-info.js';
import { type DatasetImport, importDataset } from '../../../datasets/dataset-store.js';
import type { DatasetImporter, ImportReport } from '../../../datasets/importer.js';
import { boxForManifest } from '../../../datasets/box-problems.js';
import { countClsSamples, writeClsDataset, type ClsClasses, type ClsSample } from '../cls-manifest.js';
import { boxFromIdMask, rescaleBox, type MaskBoxSource } from './id-mask-box.js';
import { readImageSize } from '../../../datasets/image-headers.js';
import { readImageNetSClassList } from './imagenet-s-classes.js';
import { table8Note } from './paper-counts.js';
import { listEntries, requireSameFolders, stem } from '../../../datasets/release-folders.js';
import { fileSource, folderSource } from '../../../datasets/source-files.js';

/** Alpha-CLIP's ImageNet-S zero-shot evaluation uses this single template; FALIP states none. */
export const IMAGENET_S_TEMPLATE = 'a photo of a {}.';

/** Masks are fully decoded (a few hundred thousand pixels each), so fewer run at once than header reads. */
const MASKS_AT_ONCE = 4;

/** ImageNet-S's merges for the 919-class version (its README), named in classes.json for footnotes. */
const MERGES =
  'n04356056→n04355933, n04493381→n02808440, n03642806→n03832673, n04008634→n03773504, n03887697→n15075141';

export interface ImageNetSImportOptions {
  /** The ImageNetS919 folder, with `validation/` and `validation-segmentation/`. */
  root: string;
  /** Overrides the shipped class names (see readImageNetSClassList). */
  names?: string;
  outRoot?: string;
}

interface ImageNetSImage {
  label: number;
  /** Relative to validation/ and validation-segmentation/: `<wnid>/<file>`. */
  image: string;
  mask: string;
}

export async function importImageNetS(opts: ImageNetSImportOptions): Promise<ImportReport> {
  return importDataset('imagenet-s', 'val', opts.outRoot, (target) => importImageNetSInto(opts, target));
}

async function importImageNetSInto(
  opts: ImageNetSImportOptions,
  { dir, staging }: DatasetImport,
): Promise<ImportReport> {
  const root = resolve(opts.root);
  const imagesDir = join(root, 'validation');
  const masksDir = join(root, 'validation-segmentation');
  const list = await readImageNetSClassList(opts.names);
  const labelOf = new Map(list.wnids.map((w, i) => [w, i]));

  const folders = await listEntries(imagesDir, 'folders', 'ImageNetS919 validation/<wnid>/ folders');
  if (folders.length === 0) throw new UserError(`${imagesDir}: no class folders`);
  requireSameFolders(
    folders,
    imagesDir,
    await listEntries(masksDir, 'folders', 'ImageNetS919 validation-segmentation/<wnid>/ folders'),
    masksDir,
  );
  const images: ImageNetSImage[] = [];
  for (const wnid of folders) {
    const label = labelOf.get(wnid);
    if (label === undefined)
      throw new UserError(
        `${join(imagesDir, wnid)}: folder: ${wnid} is not one of the ${list.wnids.length} ImageNet-S classes`,
      );
    const jpegs = (await listEntries(join(imagesDir, wnid), 'files', 'JPEG images')).filter((f) => /\.jpe?g$/i.test(f));
    const pngs = (await listEntries(join(masksDir, wnid), 'files', 'PNG masks')).filter((f) => /\.png$/i.test(f));
    const maskOf = new Map(pngs.map((p) => [stem(p), p]));
    const jpegStems = new Set(jpegs.map(stem));
    const orphanMask = pngs.find((p) => !jpegStems.has(stem(p)));
    if (orphanMask !== undefined)
      throw new UserError(
        `${join(masksDir, wnid, orphanMask)}: image: no image ${wnid}/${stem(orphanMask)}.JPEG under ${imagesDir}`,
      );
    for (const jpeg of jpegs) {
      const mask = maskOf.get(stem(jpeg));
      if (mask === undefined)
        throw new UserError(
          `${join(imagesDir, wnid, jpeg)}: mask: no mask ${wnid}/${stem(jpeg)}.png under ${masksDir}`,
        );
      images.push({ label, image: `${wnid}/${jpeg}`, mask: `${wnid}/${mask}` });
    }
  }

  const limit = pLimit(MASKS_AT_ONCE);
  const progress = workProgress('reading masks', images.length, 'images');
  const readOne = counted(progress, readImage);
  const read = await Promise.all(
    images.map((img) => limit(() => readOne(img, imagesDir, masksDir, list.wnids.length))),
  ).finally(() => progress.stop());
  const samples = read.map((r) => r.sample);
  const fallbacks = (from: MaskBoxSource): number => samples.filter((s) => s.box_from === from).length;
  const [fromForeground, fromImage] = [fallbacks('foreground'), fallbacks('image')];

  const classes: ClsClasses = {
    names: list.names,
    template: IMAGENET_S_TEMPLATE,
    names_source: list.source,
    template_source:
      "the single template of Alpha-CLIP's ImageNet-S zero-shot evaluation; FALIP does not state its template",
    source_ids: list.wnids,
    notes: [
      `The ${list.wnids.length} classes are ImageNet-S's; its five merges (${MERGES}) are already applied in the release's folders and masks: images of a merged class sit under the class it was merged into.`,
      'Label = position of the wnid in sorted order; the mask class id is label + 1.',
    ],
  };
  const info: DatasetInfo = {
    name: 'imagenet-s',
    split: 'val',
    task: 'classification',
    image_root: imagesDir,
    sources: [
      ...(await Promise.all(list.files.map(fileSource))),
      folderSource(
        masksDir,
        read.map((r) => r.mask),
      ),
    ],
    counts: { ...countClsSamples(samples, classes), box_from_foreground: fromForeground, box_from_image: fromImage },
    options: {
      box_source:
        "mask: bounding box of the image's own class pixels (exclusive ends); else of all labelled pixels (not 0, not 1000); else the whole image",
    },
    created_by: `falip data import imagenet-s${opts.names === undefined ? '' : ' --names FILE'}`,
  };
  await writeClsDataset(staging, samples, classes, info);
  // A fallback is only worth a line when some mask needed it.
  const notes = [
    table8Note('imagenet-s', countClsSamples(samples, classes)),
    ...(fromForeground > 0
      ? [
          `${fromForeground} mask(s) have no pixel of their own class: their box encloses every labelled pixel (ids other than 0 and 1000)`,
        ]
      : []),
    ...(fromImage > 0 ? [`${fromImage} mask(s) have no labelled pixel at all: their box is the whole image`] : []),
  ];
  return { dir, info, notes, warnings: read.flatMap((r) => r.warnings) };
}

async function readImage(
  img: ImageNetSImage,
  imagesDir: string,
  masksDir: string,
  classCount: number,
): Promise<{ sample: ClsSample; mask: { path: string; sha256: string }; warnings: string[] }> {
  const imagePath = join(imagesDir, img.image);
  const maskPath = join(masksDir, img.mask);
  const size = await readImageSize(imagePath, imagePath, 'image');
  const bytes = await readFile(maskPath).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${maskPath}: mask: cannot read: ${err.code ?? err.message}`);
  });
  const fromMask = await boxFromIdMask(bytes, maskPath, img.label + 1, classCount);
  const warnings: string[] = [];
  let box = fromMask.box;
  if (fromMask.size.width !== size.width || fromMask.size.height !== size.height) {
    warnings.push(
      `${maskPath}: size: the mask is ${fromMask.size.width}×${fromMask.size.height}, ${imagePath} is ${size.width}×${size.height}; box rescaled`,
    );
    box = rescaleBox(box, fromMask.size, size);
  }
  return {
    sample: {
      id: stem(basename(img.image)),
      image: img.image,
      ...size,
      label: img.label,
      box: boxForManifest(box, size, maskPath, 'box', warnings),
      box_from: fromMask.from,
    },
    mask: { path: img.mask, sha256: sha256Hex(bytes) },
    warnings,
  };
}

/** `falip data import imagenet-s`. */
export const imageNetSImporter: DatasetImporter = {
  name: 'imagenet-s',
  summary:
    'import the ImageNet-S919 validation set (validation/ + validation-segmentation/, 12,419 images) into <datasets>/imagenet-s/val/, one box per image from its mask',
  options: [
    {
      flags: '--root <dir>',
      help: 'the ImageNetS919 folder holding validation/ and validation-segmentation/',
      required: true,
    },
    {
      flags: '--names <file>',
      help: 'class names instead of the shipped configs/classnames/imagenet-s-919.json: one per line in sorted-wnid order, or JSON of the same shape',
    },
  ],
  run: (o, outRoot) => importImageNetS({ root: o.root!, names: o.names, outRoot }),
};
