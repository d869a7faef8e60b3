import { relativeImagePath } from '../../datasets/image-path.js';
import { join } from 'node:path';
import { z } from 'zod';
import { boxSchema, templateSchema } from '../../datasets/manifest-fields.js';
import { UserError } from '../../util/errors.js';
import { parseJsonLine, parseWith } from '../../util/schema-check.js';
import { CLASSES_FILE, type DatasetInfo } from '../../datasets/dataset-info.js';
import { writeDatasetFolder } from '../../datasets/dataset-store.js';
import { readNonBlankLines, readTextFile } from '../../util/text-file.js';

/** One line of a classification manifest: one image, its class and the one box FALIP's mask is built from. */
const clsSampleSchema = z.object({
  /** Unique in the manifest; the release's own image id where it has one. */
  id: z.string().min(1),
  /** Relative to the dataset's image_root. */
  image: relativeImagePath,
  /** Stored size from the image header, the space `box` is in. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** 0-based index into classes.json `names`. */
  label: z.number().int().nonnegative(),
  box: boxSchema,
  /** The release's own split of the image (CUB train/test, Waterbirds train/val/test), when it has one. */
  source_split: z.string().min(1).optional(),
  /** StanfordDogs: how many annotated dogs the box stands for (the multi-box policy is in dataset.json). */
  objects: z.number().int().positive().optional(),
  /**
   * Where the box came from. ImageNet-S's id masks: `class` (the image's own class pixels), `foreground`
   * (every labelled pixel). Binary foreground masks (FVG-PT's, `--masks`): `mask` (all foreground pixels),
   * `mask-largest` (the largest 8-connected region). `box-file`: a line of a `--boxes` file. `image`: the
   * whole image (a mask without foreground, or no region source at all).
   */
  box_from: z.enum(['class', 'foreground', 'mask', 'mask-largest', 'box-file', 'image']).optional(),
  /** Waterbirds: the (class, background) group; y 0 = landbird, 1 = waterbird; place 0 = land, 1 = water. */
  group: z.object({ y: z.number().int().min(0).max(1), place: z.number().int().min(0).max(1) }).optional(),
  /** Waterbirds: the Places scene pasted behind the bird, e.g. "bamboo_forest". */
  place_scene: z.string().min(1).optional(),
});

export type ClsSample = z.output<typeof clsSampleSchema>;

/** classes.json: the label space of a classification dataset and how its texts are made. */
const classesSchema = z
  .object({
    /** Class names in label order. */
    names: z.array(z.string().min(1)).min(1),
    /** Default text template; `{}` is replaced by the class name. */
    template: templateSchema,
    /** Where the names came from (file and rule), for footnotes. */
    names_source: z.string().min(1),
    /** Why this template (the paper states none). */
    template_source: z.string().min(1),
    /** The release's own class ids in label order (CUB folder names, wnids). */
    source_ids: z.array(z.string().min(1)).optional(),
    /** Further facts about the label space a footnote may need (merged classes, label rules). */
    notes: z.array(z.string()).optional(),
  })
  .refine((c) => c.source_ids === undefined || c.source_ids.length === c.names.length, {
    path: ['source_ids'],
    message: 'expected one id per name',
  });

export type ClsClasses = z.output<typeof classesSchema>;

export function parseClsLine(text: string, where: string): ClsSample {
  return parseWith(clsSampleSchema, parseJsonLine(text, where), where);
}

/** Reads a whole manifest; the first invalid line aborts with `<file>:<line>: <field>: <problem>`. */
export async function readClsManifest(path: string): Promise<ClsSample[]> {
  return (await readNonBlankLines(path)).map(({ text, where }) => parseClsLine(text, where));
}

export async function readClasses(dir: string): Promise<ClsClasses> {
  const path = join(dir, CLASSES_FILE);
  return parseClasses(await readTextFile(path), path);
}

/** classes.json's text (read at `path`) through its schema. */
export function parseClasses(text: string, path: string): ClsClasses {
  return parseWith(classesSchema, parseJsonLine(text, path), path);
}

/** The counts every classification dataset records (importers add their own after these). */
export function countClsSamples(
  samples: readonly ClsSample[],
  classes: ClsClasses,
): { images: number; classes: number } {
  return { images: samples.length, classes: classes.names.length };
}

/** Writes the dataset folder (see writeDatasetFolder) after checking labels and ids. */
export async function writeClsDataset(
  dir: string,
  samples: readonly ClsSample[],
  classes: ClsClasses,
  info: DatasetInfo,
): Promise<void> {
  const bad = samples.find((s) => s.label >= classes.names.length);
  if (bad)
    throw new Error(
      `writeClsDataset: sample ${bad.id} has label ${bad.label}, but there are ${classes.names.length} classes`,
    );
  // Ids come from the release's file names; records and resumed runs are keyed by them.
  const imageOfId = new Map<string, string>();
  for (const s of samples) {
    const other = imageOfId.get(s.id);
    if (other !== undefined) throw new UserError(`${s.image}: id: ${s.id} is also the id of ${other}`);
    imageOfId.set(s.id, s.image);
  }
  await writeDatasetFolder(dir, samples, info, classes);
}
