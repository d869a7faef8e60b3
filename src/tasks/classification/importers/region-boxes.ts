import { readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import pLimit from 'p-limit';
import { workProgress } from '../../../util/work-progress.js';
import type { BoxXYWH } from '../../../image/box.js';
import { boxForManifest } from '../../../datasets/box-problems.js';
import { decodeBinaryMask, maskBox, type MaskRegionPolicy } from '../../../datasets/foreground-mask.js';
import { readImageSize } from '../../../datasets/image-headers.js';
import { fileSource, folderSource, type SourceFile } from '../../../datasets/source-files.js';
import { UserError } from '../../../util/errors.js';
import { sha256Hex } from '../../../util/sha256.js';
import type { ClsSample } from '../cls-manifest.js';
import { readBoxFile, type BoxLine } from './box-file.js';
import { rescaleBox } from './id-mask-box.js';

/** One image a release's split lists, with where it is listed (`where: field: problem` in messages). */
export interface ListedImage {
  /** Relative to the image folder, as the split lists it; also the manifest id. */
  image: string;
  label: number;
  /** The file (a JSON split) or `file:line` (a list) that lists it. */
  where: string;
  /** The image's field there: `test[17][0]` in a JSON split, `image` on a list line or in a folder. */
  field: string;
}

/** Where the box of each image comes from: `--masks DIR [--mask-region]`, `--boxes FILE`, or neither (the whole image). */
export interface RegionOptions {
  masks?: string;
  /** Only with `masks`; default `all`. */
  maskRegion?: MaskRegionPolicy;
  boxes?: string;
}

/** A mask is decoded in full (a JPEG as large as its image), so fewer run at once than header reads. */
const IMAGES_AT_ONCE = 4;

/**
 * Where a mask tree may sit relative to the images: each folder, given the image's path as the split
 * lists it, holds its mask under that path (same name and extension: FVG-PT's masks are JPEGs named
 * exactly as their images). FVG-PT's loader takes `mask/<image path relative to DATASET.ROOT>`, the
 * folder above CoOp's dataset folder, so a release mask path is `mask/<dataset folder>/<image
 * sub-folder>/<path>` (e.g. mask/caltech-101/101_ObjectCategories/accordion/image_0001.jpg); a tree
 * copied from a lower level is accepted too. The first of these that holds the first image's mask is
 * used for every image.
 */
export function maskFolderCandidates(masks: string, datasetFolder: string, imageRoot: string): string[] {
  const bases = [resolve(datasetFolder, '..'), resolve(datasetFolder), resolve(imageRoot)];
  return [...new Set(bases.map((b) => join(resolve(masks), relative(b, resolve(imageRoot)))))];
}

/** What the import writes about its boxes, beside the samples. */
export interface BoxedSamples {
  samples: ClsSample[];
  counts: Record<string, number>;
  options: Record<string, string | number | boolean>;
  sources: SourceFile[];
  notes: string[];
  warnings: string[];
  /** The region flags, for dataset.json's created_by. */
  flags: string;
}

interface ImageBox {
  sample: ClsSample;
  mask?: { path: string; sha256: string; regions: number; resized: boolean };
  warnings: string[];
}

/**
 * The manifest samples of the listed images (id = the listed path), each with the box its region
 * source gives. Without a source every box is the whole image; with `--masks` the box is the mask's
 * foreground bounding box (the whole image where there is none); with `--boxes` the file's line.
 */
export async function boxListedImages(
  images: readonly ListedImage[],
  layout: { datasetFolder: string; imageRoot: string },
  opts: RegionOptions,
): Promise<BoxedSamples> {
  if (opts.masks !== undefined && opts.boxes !== undefined)
    throw new UserError('--masks and --boxes: give one region source, not both');
  if (opts.maskRegion !== undefined && opts.masks === undefined)
    throw new UserError('--mask-region: only with --masks (it picks which foreground pixels a mask box encloses)');
  const each = (box: (img: ListedImage, size: { width: number; height: number }) => Promise<ImageBox>) =>
    inListOrder(images, (img) =>
      readImageSize(join(layout.imageRoot, img.image), img.where, img.field).then((size) => box(img, size)),
    );

  if (opts.masks !== undefined) {
    const policy = opts.maskRegion ?? 'all';
    const folder = await findMaskFolder(opts.masks, layout, images[0]!);
    return masksReport(await each((img, size) => maskedImage(img, size, layout.imageRoot, folder, policy)), {
      masks: resolve(opts.masks),
      folder,
      policy,
    });
  }
  if (opts.boxes !== undefined) {
    const file = resolve(opts.boxes);
    const lines = await readBoxFile(file);
    const read = await each(async (img, size) => {
      const line = lines.get(img.image);
      if (line === undefined)
        throw new UserError(`${file}: image: no line for ${img.image} (listed at ${img.where}: ${img.field})`);
      return fileBoxedImage(img, size, line);
    });
    const unused = lines.size - images.length;
    return {
      samples: read.map((r) => r.sample),
      counts: { box_from_box_file: images.length },
      options: {
        box_source:
          'a --boxes file: one "<image> x y w h" line per image, in image pixels; a box partly outside is clamped',
        boxes: file,
      },
      sources: [await fileSource(file)],
      notes: unused > 0 ? [`${unused} line(s) of ${file} name images outside this split: not used`] : [],
      warnings: read.flatMap((r) => r.warnings),
      flags: ' --boxes FILE',
    };
  }
  const read = await each(async (img, size) => ({
    sample: sampleOf(img, size, wholeImage(size), 'image'),
    warnings: [],
  }));
  return {
    samples: read.map((r) => r.sample),
    counts: { box_from_image: images.length },
    options: { box_source: 'none: every box is the whole image (no --masks or --boxes)' },
    sources: [],
    notes: ['no --masks or --boxes: every box is the whole image'],
    warnings: [],
    flags: '',
  };
}

/**
 * `read` over the images, a few at a time; the error of the first image in list order that fails, so
 * the message is the same on every run. Images start in order, so when one fails every earlier one has
 * started: waiting for those that run settles which fails first; later ones are not started.
 */
async function inListOrder<T>(images: readonly ListedImage[], read: (img: ListedImage) => Promise<T>): Promise<T[]> {
  const limit = pLimit(IMAGES_AT_ONCE);
  const progress = workProgress('reading images', images.length, 'images');
  let failed = false;
  const settled = await Promise.allSettled(
    images.map((img) =>
      limit(async () => {
        if (failed) return undefined;
        try {
          const value = await read(img);
          progress.add(1);
          return { value };
        } catch (err) {
          failed = true;
          throw err;
        }
      }),
    ),
  );
  progress.stop();
  const firstError = settled.find((s) => s.status === 'rejected');
  if (firstError) throw firstError.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<{ value: T }>).value.value);
}

function wholeImage({ width, height }: { width: number; height: number }): BoxXYWH {
  return [0, 0, width, height];
}

function sampleOf(
  img: ListedImage,
  size: { width: number; height: number },
  box: BoxXYWH,
  from: NonNullable<ClsSample['box_from']>,
): ClsSample {
  return { id: img.image, image: img.image, ...size, label: img.label, box, box_from: from };
}

function fileBoxedImage(img: ListedImage, size: { width: number; height: number }, line: BoxLine): ImageBox {
  const warnings: string[] = [];
  const box = boxForManifest(line.box, size, line.where, 'box', warnings);
  return { sample: sampleOf(img, size, box, 'box-file'), warnings };
}

async function findMaskFolder(
  masks: string,
  layout: { datasetFolder: string; imageRoot: string },
  first: ListedImage,
): Promise<string> {
  if (!(await stat(masks).catch(() => undefined))?.isDirectory())
    throw new UserError(`${resolve(masks)}: not a folder (--masks: the folder of foreground masks)`);
  const candidates = maskFolderCandidates(masks, layout.datasetFolder, layout.imageRoot);
  for (const folder of candidates) if (await isFile(join(folder, first.image))) return folder;
  throw new UserError(
    `${resolve(masks)}: no mask for ${first.image} (listed at ${first.where}: ${first.field}): looked for ${candidates.map((c) => join(c, first.image)).join(', ')}`,
  );
}

async function maskedImage(
  img: ListedImage,
  size: { width: number; height: number },
  imageRoot: string,
  folder: string,
  policy: MaskRegionPolicy,
): Promise<ImageBox> {
  const imagePath = join(imageRoot, img.image);
  const maskPath = join(folder, img.image);
  const bytes = await readFile(maskPath).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(
      `${imagePath}: mask: ${err.code === 'ENOENT' ? 'not found' : `cannot read (${err.code ?? err.message})`}: ${maskPath}`,
    );
  });
  const mask = await decodeBinaryMask(bytes, maskPath);
  const found = maskBox(mask, policy);
  const warnings: string[] = [];
  const resized = mask.width !== size.width || mask.height !== size.height;
  if (resized)
    warnings.push(
      `${maskPath}: size: the mask is ${mask.width}×${mask.height}, ${imagePath} is ${size.width}×${size.height}; box rescaled`,
    );
  const sample =
    found.box === undefined
      ? sampleOf(img, size, wholeImage(size), 'image')
      : sampleOf(
          img,
          size,
          boxForManifest(resized ? rescaleBox(found.box, mask, size) : found.box, size, maskPath, 'box', warnings),
          policy === 'largest' ? 'mask-largest' : 'mask',
        );
  return {
    sample,
    mask: { path: img.image, sha256: sha256Hex(bytes), regions: found.regions, resized },
    warnings,
  };
}

function masksReport(
  read: readonly ImageBox[],
  m: { masks: string; folder: string; policy: MaskRegionPolicy },
): BoxedSamples {
  const samples = read.map((r) => r.sample);
  const masks = read.map((r) => r.mask!);
  const empty = samples.filter((s) => s.box_from === 'image').length;
  const multi = masks.filter((x) => x.regions > 1).length;
  const resized = masks.filter((x) => x.resized).length;
  const fromMask = m.policy === 'largest' ? 'box_from_mask_largest' : 'box_from_mask';
  const enclosed =
    m.policy === 'largest'
      ? 'the largest 8-connected foreground region of its mask'
      : 'all foreground pixels of its mask';
  return {
    samples,
    counts: {
      [fromMask]: samples.length - empty,
      box_from_image: empty,
      multi_region_masks: multi,
      resized_masks: resized,
    },
    options: {
      box_source: `the box (exclusive ends) encloses ${enclosed}; foreground = mean of R, G, B over 255 > 0.5 (FVG-PT's binarisation); a mask without foreground gives the whole image; a mask of another size than its image has its box rescaled`,
      masks: m.masks,
      mask_folder: m.folder,
      mask_region: m.policy,
      mask_connectivity: 8,
    },
    sources: [folderSource(m.folder, masks)],
    notes: [
      `masks read from ${m.folder}/<image path>; ${samples.length - empty} box(es) enclose ${enclosed}`,
      ...(empty > 0 ? [`${empty} mask(s) have no foreground pixel: their box is the whole image`] : []),
      ...(multi > 0 ? [`${multi} mask(s) have several 8-connected foreground regions`] : []),
    ],
    warnings: read.flatMap((r) => r.warnings),
    flags: ` --masks DIR${m.policy === 'all' ? '' : ` --mask-region ${m.policy}`}`,
  };
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
