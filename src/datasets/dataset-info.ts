import { existsSync } from 'node:fs';
import { readTextFile } from '../util/text-file.js';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RecSample } from './rec-manifest.js';
import { parseJsonLine, parseWith } from '../util/schema-check.js';
import { sha256HexSchema } from '../util/sha256.js';

export const DATASET_INFO_FILE = 'dataset.json';
export const MANIFEST_FILE = 'manifest.jsonl';
/** The label space of a classification or point-cloud dataset (names and text template). */
export const CLASSES_FILE = 'classes.json';

const count = z.number().int().nonnegative();

/** The evaluation a dataset is for; each has its own manifest schema. */
export const TASK_NAMES = ['rec', 'classification', 'pointcloud'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** dataset.json: what a dataset folder holds and where it came from (written last by every importer). */
const datasetInfoSchema = z.object({
  name: z.string().min(1),
  split: z.string().min(1),
  task: z.enum(TASK_NAMES),
  /** Absolute, or relative to the dataset folder (the generated demo sets keep their images inside). */
  image_root: z.string().min(1),
  /** The imported files with their sha256, so a result can name exactly which data it was run on. */
  sources: z.array(z.object({ file: z.string(), sha256: sha256HexSchema })),
  /** What the manifest holds, by name (REC: refs, sentences, images, gold_boxes, proposals; each image counted once). */
  counts: z.record(z.string(), count),
  /** Import choices that change the data (e.g. StanfordDogs' multi-box policy), for footnotes and run keys. */
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  created_by: z.string(),
});

export type DatasetInfo = z.output<typeof datasetInfoSchema>;
export type DatasetCounts = DatasetInfo['counts'];

export async function readDatasetInfo(dir: string): Promise<DatasetInfo> {
  const path = join(dir, DATASET_INFO_FILE);
  if (!existsSync(path)) throw new UserError(`${dir}: not a dataset folder (no ${DATASET_INFO_FILE})`);
  return parseWith(datasetInfoSchema, parseJsonLine(await readTextFile(path), path), path);
}

export async function writeDatasetInfo(dir: string, info: DatasetInfo): Promise<void> {
  await writeFileAtomic(join(dir, DATASET_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

export function resolveImageRoot(dir: string, info: DatasetInfo): string {
  return resolve(dir, info.image_root);
}

/**
 * One ref per image (the first): every ref of an image carries the same gold and proposal lists,
 * so per-image quantities are read from it.
 */
export function firstRefOfEachImage(samples: readonly RecSample[]): RecSample[] {
  const first = new Map<string, RecSample>();
  for (const s of samples) if (!first.has(s.image)) first.set(s.image, s);
  return [...first.values()];
}

/** Counts for dataset.json; gold boxes and proposals are counted once per image. */
export function countRecSamples(samples: readonly RecSample[]): DatasetCounts {
  const perImage = firstRefOfEachImage(samples);
  const counts: DatasetCounts = {
    refs: samples.length,
    sentences: samples.reduce((n, s) => n + s.sentences.length, 0),
    images: perImage.length,
    gold_boxes: perImage.reduce((n, s) => n + s.gold.length, 0),
  };
  if (samples.some((s) => s.proposals)) counts.proposals = perImage.reduce((n, s) => n + (s.proposals?.length ?? 0), 0);
  return counts;
}
