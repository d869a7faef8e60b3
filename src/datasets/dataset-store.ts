import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import {
  CLASSES_FILE,
  DATASET_INFO_FILE,
  MANIFEST_FILE,
  readDatasetInfo,
  writeDatasetInfo,
  type DatasetInfo,
} from './dataset-info.js';

/** An imported dataset split on disk. */
export interface StoredDataset {
  dir: string;
  info: DatasetInfo;
}

/** `<repo>/datasets` (git-ignored), or FALIP_DATASETS so large imports can live on another disk. */
export function datasetsRoot(): string {
  const fromEnv = process.env.FALIP_DATASETS;
  if (fromEnv) return resolve(fromEnv);
  return join(REPO_ROOT, 'datasets');
}

/** `<root>/<name>/<split>/`; both parts become folder names, so they must be plain names. */
export function datasetDir(name: string, split: string, root: string = datasetsRoot()): string {
  for (const [what, value] of [
    ['dataset name', name],
    ['split', split],
  ] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9+._-]*$/.test(value))
      throw new UserError(`${what} "${value}": use letters, digits and + . _ - only`);
  }
  return join(resolve(root), name, split);
}

/** Every `<name>/<split>` under the root that has a dataset.json, sorted by name then split. */
export async function listDatasets(root: string = datasetsRoot()): Promise<StoredDataset[]> {
  const found: StoredDataset[] = [];
  for (const name of (await subfolders(root)).sort()) {
    for (const split of (await subfolders(join(root, name))).sort()) {
      const dir = join(root, name, split);
      if (await isFile(join(dir, DATASET_INFO_FILE))) found.push({ dir, info: await readDatasetInfo(dir) });
    }
  }
  return found;
}

export async function requireDataset(
  name: string,
  split: string,
  root: string = datasetsRoot(),
): Promise<StoredDataset> {
  const dir = datasetDir(name, split, root);
  if (!(await isFile(join(dir, DATASET_INFO_FILE)))) {
    throw new UserError(`dataset ${name}/${split} is not imported (see falip data import --help)`);
  }
  return { dir, info: await readDatasetInfo(dir) };
}

/**
 * Writes manifest.jsonl (one sample per line), classes.json when the task has a label space, then
 * dataset.json: a folder only counts as a dataset once dataset.json exists, so a crash mid-import
 * never leaves a half dataset that looks whole.
 */
export async function writeDatasetFolder(
  dir: string,
  samples: readonly object[],
  info: DatasetInfo,
  classes?: object,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, MANIFEST_FILE), samples.map((s) => `${JSON.stringify(s)}\n`).join(''));
  if (classes !== undefined) await writeFileAtomic(join(dir, CLASSES_FILE), `${JSON.stringify(classes, null, 2)}\n`);
  await writeDatasetInfo(dir, info);
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return []; // no datasets root yet: nothing imported
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
