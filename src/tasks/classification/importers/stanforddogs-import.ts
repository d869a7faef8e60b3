import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { counted, workProgress } from '../../../util/work-progress.js';
import { boxArea, type BoxXYWH } from '../../../image/box.js';
import { UserError } from '../../../util/errors.js';
import { sha256Hex } from '../../../util/sha256.js';
import type { DatasetInfo } from '../../../datasets/dataset-info.js';
import { type DatasetImport, importDataset } from '../../../datasets/dataset-store.js';
import type { DatasetImporter, ImportReport } from '../../../datasets/importer.js';
import { boxForManifest } from '../../../datasets/box-problems.js';
import { countClsSamples, writeClsDataset, type ClsClasses, type ClsSample } from '../cls-manifest.js';
import { readImageSize } from '../../../datasets/image-headers.js';
import { table8Note } from './paper-counts.js';
import { listEntries, requireSameFolders, stem } from '../../../datasets/release-folders.js';
import { folderSource } from '../../../datasets/source-files.js';
import { parseVocAnnotation } from './voc-annotation.js';

/** What one box per image means when an image shows several dogs (the paper does not say). */
export const MULTI_BOX_POLICIES = ['union', 'largest', 'first'] as const;
export type MultiBoxPolicy = (typeof MULTI_BOX_POLICIES)[number];

/** How a footnote says what the one box of a multi-dog image is. */
const POLICY_WORDS: Record<MultiBoxPolicy, string> = {
  union: "the union of the dogs' boxes",
  largest: "the largest dog's box",
  first: 'the first box of the XML file',
};

const DOGS_TEMPLATE = 'a photo of a {}, a type of dog.';

/** Each image's XML and header are read together; a few at a time keeps the disk busy without thrashing. */
const IMAGES_AT_ONCE = 8;

export interface DogsImportOptions {
  /** The folder holding the unpacked `Images/` and `Annotation/`. */
  root: string;
  multiBox: MultiBoxPolicy;
  outRoot?: string;
}

/** "n02085620-Chihuahua" → "Chihuahua"; "n02116738-African_hunting_dog" → "African hunting dog" (names may hold hyphens). */
function dogBreedName(folder: string, where: string): string {
  const hyphen = folder.indexOf('-');
  if (hyphen <= 0 || hyphen === folder.length - 1)
    throw new UserError(`${where}: folder: expected <wnid>-<Breed_Name>, got "${folder}"`);
  return folder.slice(hyphen + 1).replaceAll('_', ' ');
}

/** The one box standing for all the dogs of an image. */
export function combineBoxes(boxes: readonly BoxXYWH[], policy: MultiBoxPolicy): BoxXYWH {
  if (boxes.length === 0) throw new Error('combineBoxes: no boxes');
  switch (policy) {
    case 'first':
      return boxes[0]!;
    case 'largest':
      // Ties go to the earlier box, as the XML lists them.
      return boxes.reduce((best, b) => (boxArea(b) > boxArea(best) ? b : best));
    case 'union': {
      const l = Math.min(...boxes.map((b) => b[0]));
      const t = Math.min(...boxes.map((b) => b[1]));
      const r = Math.max(...boxes.map((b) => b[0] + b[2]));
      const bt = Math.max(...boxes.map((b) => b[1] + b[3]));
      return [l, t, r - l, bt - t];
    }
  }
}

interface DogImage {
  folder: string;
  label: number;
  file: string;
}

export async function importStanfordDogs(opts: DogsImportOptions): Promise<ImportReport> {
  return importDataset('stanforddogs', 'all', opts.outRoot, (target) => importStanfordDogsInto(opts, target));
}

async function importStanfordDogsInto(opts: DogsImportOptions, { dir, staging }: DatasetImport): Promise<ImportReport> {
  const root = resolve(opts.root);
  const imagesDir = join(root, 'Images');
  const annotationDir = join(root, 'Annotation');
  const folders = await listEntries(imagesDir, 'folders', "the release's Images/<wnid>-<Breed>/ folders");
  if (folders.length === 0) throw new UserError(`${imagesDir}: no class folders`);
  requireSameFolders(
    folders,
    imagesDir,
    await listEntries(annotationDir, 'folders', "the release's Annotation/<wnid>-<Breed>/ folders"),
    annotationDir,
  );
  const classes: ClsClasses = {
    names: folders.map((f) => dogBreedName(f, join(imagesDir, f))),
    template: DOGS_TEMPLATE,
    names_source:
      'StanfordDogs Images/ folder names, sorted: the text after the first hyphen, underscores replaced by spaces',
    template_source: 'the usual StanfordDogs template of CoOp-style code; FALIP does not state its template',
    source_ids: folders,
  };

  const images: DogImage[] = [];
  for (const [label, folder] of folders.entries()) {
    const files = (await listEntries(join(imagesDir, folder), 'files', 'JPEG images')).filter((f) =>
      /\.jpe?g$/i.test(f),
    );
    const annotations = await listEntries(join(annotationDir, folder), 'files', 'annotation files');
    const stems = new Set(files.map(stem));
    const orphan = annotations.find((a) => !stems.has(a));
    if (orphan !== undefined)
      throw new UserError(
        `${join(annotationDir, folder, orphan)}: image: no image ${folder}/${orphan}.jpg under ${imagesDir}`,
      );
    for (const file of files) images.push({ folder, label, file });
  }

  const limit = pLimit(IMAGES_AT_ONCE);
  const progress = workProgress('reading annotations and images', images.length, 'images');
  const readOne = counted(progress, readDog);
  const read = await Promise.all(
    images.map((img) => limit(() => readOne(img, imagesDir, annotationDir, opts.multiBox))),
  ).finally(() => progress.stop());
  const samples = read.map((r) => r.sample);
  const warnings = read.flatMap((r) => r.warnings);
  const multi = samples.filter((s) => s.objects! > 1).length;
  const info: DatasetInfo = {
    name: 'stanforddogs',
    split: 'all',
    task: 'classification',
    image_root: imagesDir,
    sources: [
      folderSource(
        annotationDir,
        read.map((r) => r.annotation),
      ),
    ],
    counts: {
      ...countClsSamples(samples, classes),
      objects: samples.reduce((n, s) => n + s.objects!, 0),
      multi_object_images: multi,
    },
    options: { multi_box: opts.multiBox, box_source: 'Annotation bndbox (xmax − xmin, no +1), clamped to the image' },
    created_by: `falip data import stanforddogs --multi-box ${opts.multiBox}`,
  };
  await writeClsDataset(staging, samples, classes, info);
  const notes = [
    table8Note('stanforddogs', countClsSamples(samples, classes)),
    ...(multi > 0 ? [`${multi} image(s) show several dogs: their box is ${POLICY_WORDS[opts.multiBox]}`] : []),
  ];
  return { dir, info, notes, warnings };
}

async function readDog(
  img: DogImage,
  imagesDir: string,
  annotationDir: string,
  policy: MultiBoxPolicy,
): Promise<{ sample: ClsSample; annotation: { path: string; sha256: string }; warnings: string[] }> {
  const warnings: string[] = [];
  const id = stem(img.file);
  const imagePath = join(imagesDir, img.folder, img.file);
  const annPath = join(annotationDir, img.folder, id);
  const bytes = await readFile(annPath).catch(() => {
    throw new UserError(`${imagePath}: annotation: no annotation file ${annPath}`);
  });
  const voc = parseVocAnnotation(bytes, annPath);
  const size = await readImageSize(imagePath, annPath, 'image');
  if (voc.size && (voc.size.width !== size.width || voc.size.height !== size.height)) {
    warnings.push(
      `${annPath}: size: the XML says ${voc.size.width}×${voc.size.height}, ${imagePath} is ${size.width}×${size.height} (boxes are clamped to the image)`,
    );
  }
  // An object annotated with a zero-area box (a slip of the annotator's mouse) says nothing of where its
  // dog is: it is left out, with a warning, when the image has another dog; alone, it stops the import.
  const usable = voc.objects.map((o, i) => ({ o, i })).filter(({ o }) => boxArea(o.box) > 0);
  const kept = usable.length > 0 ? usable : voc.objects.map((o, i) => ({ o, i }));
  for (const [i, o] of voc.objects.entries()) {
    if (usable.length > 0 && boxArea(o.box) === 0)
      warnings.push(`${o.where}: object[${i}].bndbox: zero-area box [${o.box.join(', ')}]; this object is left out`);
  }
  const boxes = kept.map(({ o, i }) => boxForManifest(o.box, size, o.where, `object[${i}].bndbox`, warnings));
  return {
    sample: {
      id,
      image: `${img.folder}/${img.file}`,
      ...size,
      label: img.label,
      box: combineBoxes(boxes, policy),
      objects: boxes.length,
    },
    annotation: { path: `${img.folder}/${id}`, sha256: sha256Hex(bytes) },
    warnings,
  };
}

/** `falip data import stanforddogs`. */
export const stanfordDogsImporter: DatasetImporter = {
  name: 'stanforddogs',
  summary:
    'import StanfordDogs as released (Images/ and Annotation/, all 20,580 images as FALIP used) into <datasets>/stanforddogs/all/',
  options: [
    { flags: '--root <dir>', help: 'the folder holding the unpacked Images/ and Annotation/', required: true },
    {
      flags: '--multi-box <policy>',
      help: 'the one box of an image with several dogs: union of their boxes, the largest, or the first in the XML (the paper does not say)',
      defaultValue: 'union',
      choices: MULTI_BOX_POLICIES,
    },
  ],
  run: (o, outRoot) => importStanfordDogs({ root: o.root!, multiBox: o.multiBox as MultiBoxPolicy, outRoot }),
};
