import { existsSync } from 'node:fs';
import { readTextFile } from '../util/text-file.js';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { parseJsonLine, parseWith } from '../util/schema-check.js';
import { sha256HexSchema } from '../util/sha256.js';

export const DATASET_INFO_FILE = 'dataset.json';
export const MANIFEST_FILE = 'manifest.jsonl';
/** The label space of a classification or point-cloud dataset (names and text template). */
export const CLASSES_FILE = 'classes.json';

const count = z.number().int().nonnegative();

/** dataset.json: what a dataset folder holds and where it came from (written last by every importer). */
const datasetInfoSchema = z.object({
  name: z.string().min(1),
  split: z.string().min(1),
  /** The evaluation the dataset is for (a registered task: its manifest schema, checker and scoring). */
  task: z.string().min(1),
  /** Absolute, or relative to the dataset folder (the generated demo sets keep their images inside). */
  image_root: z.string().min(1),
  /** The imported files with their sha256, so a result can name exactly which data it was run on. */
  sources: z.array(z.object({ file: z.string(), sha256: sha256HexSchema })),
  /** What the manifest holds, by name (REC: refs, sentences, images, gold_boxes, proposals; each image counted once). */
  counts: z.record(z.string(), count),
  /** Import choices that change the data (e.g. StanfordDogs' multi-box policy), for footnotes and run keys. */
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  created_by: z.string(),
  /**
   * The sha256 of the files the import wrote beside dataset.json (manifest.jsonl, classes.json), by
   * name: a folder whose files come from two imports is not taken for a whole one. Absent in folders
   * written by older falip versions.
   */
  files: z.record(z.string(), sha256HexSchema).optional(),
});

export type DatasetInfo = z.output<typeof datasetInfoSchema>;
export type DatasetCounts = DatasetInfo['counts'];

export async function readDatasetInfo(dir: string): Promise<DatasetInfo> {
  const path = join(dir, DATASET_INFO_FILE);
  if (!existsSync(path)) throw new UserError(`${dir}: not a dataset folder (no ${DATASET_INFO_FILE})`);
  return parseDatasetInfo(await readTextFile(path), path);
}

/** dataset.json's text (read at `path`) through its schema. */
export function parseDatasetInfo(text: string, path: string): DatasetInfo {
  return parseWith(datasetInfoSchema, parseJsonLine(text, path), path);
}

export async function writeDatasetInfo(dir: string, info: DatasetInfo): Promise<void> {
  await writeFileAtomic(join(dir, DATASET_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

export function resolveImageRoot(dir: string, info: DatasetInfo): string {
  return resolve(dir, info.image_root);
}
