import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isStaleTemp, parseTempName, removeStaleTemps, tempPathFor, writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { FileLock } from '../util/file-lock.js';
import { withFsErrors } from '../util/fs-errors.js';
import { checkWritableFolder } from '../util/output-target.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import { sha256Hex } from '../util/sha256.js';
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

/** The sha256 of each file a dataset folder's importer wrote beside dataset.json, by name (dataset.json `files`). */
export function fileDigests(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([name, text]) => [name, sha256Hex(text)]));
}

/**
 * Writes manifest.jsonl (one sample per line), classes.json when the task has a label space, then
 * dataset.json, which records the sha256 of the other two: a folder whose files come from two
 * imports is told from a whole one (`data check`, eval); the digests are set in `info` as well, the
 * object the import reports. `dir` is an import's staging folder
 * (`importDataset`), which only becomes the dataset once it is complete.
 */
export async function writeDatasetFolder(
  dir: string,
  samples: readonly object[],
  info: DatasetInfo,
  classes?: object,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = { [MANIFEST_FILE]: samples.map((s) => `${JSON.stringify(s)}\n`).join('') };
  if (classes !== undefined) files[CLASSES_FILE] = `${JSON.stringify(classes, null, 2)}\n`;
  for (const [name, text] of Object.entries(files)) await writeFileAtomic(join(dir, name), text);
  // Recorded in the caller's `info` too: what an import reports is what its dataset.json says.
  info.files = fileDigests(files);
  await writeDatasetInfo(dir, info);
}

/** An import in progress: it holds the split's lock, and builds the new dataset folder in `staging`. */
export interface DatasetImport {
  /** Where the dataset will be: `<root>/<name>/<split>`. */
  dir: string;
  /** A fresh folder beside it that the import writes (writeDatasetFolder, images); swapped in when complete. */
  staging: string;
}

/** How long `ensureDataset` waits for another process's import of the same set. */
const GENERATION_WAIT_MS = 5 * 60_000;

/**
 * Imports `<name>/<split>`: `build` writes a complete new dataset folder into a staging folder, which
 * then replaces the old one, so that a reader, a crash or a kill never meets half of each:
 *
 * - The split's lock (`<root>/<name>/.<split>.lock`) is held from the start, so a second import of the
 *   same split is refused at once (exit 2) instead of both reading their inputs and one losing.
 * - The target is checked before any input is read: the datasets folder must be writable, and an
 *   existing `<split>` folder must be a dataset (falip never replaces a folder it did not make).
 * - The swap is two renames (a folder cannot be renamed over a non-empty one): the old folder moves
 *   aside, the new one into place, then the old one is deleted. A process killed between the two
 *   renames leaves no dataset at `<split>`; the next import restores the old one from aside before it
 *   starts. Staging and aside folders carry the temporary-name suffix (pid and host), so the next import
 *   removes those a killed import left (`removeStaleTemps`).
 *
 * An evaluation reading the old folder while it is replaced notices (its content hash is pinned,
 * see dataset-pin.ts) and records nothing more.
 */
export async function importDataset<T>(
  name: string,
  split: string,
  outRoot: string | undefined,
  build: (target: DatasetImport) => Promise<T>,
): Promise<T> {
  return (await runImport(name, split, build, { outRoot, onlyIfMissing: false })) as T;
}

/**
 * `importDataset` for the generated sets that evaluations write on first use, where two processes at
 * once are expected and both want the same bytes: another import of the set is waited for, not
 * refused, and nothing is done when it left the set there.
 */
export async function ensureDataset(
  name: string,
  split: string,
  build: (target: DatasetImport) => Promise<unknown>,
): Promise<void> {
  await runImport(name, split, build, { outRoot: undefined, onlyIfMissing: true });
}

async function runImport<T>(
  name: string,
  split: string,
  build: (target: DatasetImport) => Promise<T>,
  opts: { outRoot: string | undefined; onlyIfMissing: boolean },
): Promise<T | undefined> {
  const root = resolve(opts.outRoot ?? datasetsRoot());
  const dir = datasetDir(name, split, root);
  // The usual case of a generated set: already there, nothing to write (the datasets folder may be read-only).
  if (opts.onlyIfMissing && (await isFile(join(dir, DATASET_INFO_FILE)))) return undefined;
  await checkWritableFolder(root, '--out-root');
  await requireDatasetOrNothing(dir);
  const parent = dirname(dir);
  await withFsErrors(() => mkdir(parent, { recursive: true }));
  const lockFile = join(parent, `.${split}.lock`);
  const words = {
    what: `dataset ${name}/${split} (${dir})`,
    advice: 'wait for that import to finish, then import again if you still need to',
  };
  const lock = opts.onlyIfMissing
    ? await FileLock.acquireWaiting(lockFile, words, GENERATION_WAIT_MS)
    : FileLock.acquire(lockFile, words);
  try {
    await recoverInterruptedImport(dir);
    if (opts.onlyIfMissing && (await isFile(join(dir, DATASET_INFO_FILE)))) return undefined;
    const staging = tempPathFor(dir);
    try {
      await withFsErrors(() => mkdir(staging));
      // A full disk or a read-only place while the import writes is one line naming the file.
      const result = await withFsErrors(() => build({ dir, staging }));
      if (!(await isFile(join(staging, DATASET_INFO_FILE))))
        throw new Error(`importDataset ${name}/${split}: the import wrote no ${DATASET_INFO_FILE}`);
      await withFsErrors(() => swapIn(staging, dir));
      return result;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
}

/** An existing folder at a dataset's place must be a dataset (or empty): anything else is the user's. */
async function requireDatasetOrNothing(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new UserError(`${dir}: is a file where the dataset folder goes; move it away`);
  if (await isFile(join(dir, DATASET_INFO_FILE))) return;
  if ((await readdir(dir)).length > 0)
    throw new UserError(
      `${dir}: not a dataset folder (no ${DATASET_INFO_FILE}) and not empty: falip never replaces a folder it did not make; move it away`,
    );
}

/** Replaces `dir` by `staging` (see importDataset for why two renames, and what a kill between them leaves). */
async function swapIn(staging: string, dir: string): Promise<void> {
  if (!(await stat(dir).catch(() => undefined))) {
    await rename(staging, dir);
    return;
  }
  const aside = tempPathFor(dir, 'old');
  await rename(dir, aside);
  await rename(staging, dir);
  await rm(aside, { recursive: true, force: true });
}

/**
 * Undoes what a killed import left beside `dir`: with no dataset at `dir`, the newest old folder a dead
 * process moved aside is put back (the old dataset, whole); then every stale staging or aside folder is
 * removed.
 */
async function recoverInterruptedImport(dir: string): Promise<void> {
  const parent = dirname(dir);
  const mine = (n: string) => parseTempName(n)?.target === basename(dir);
  if (!(await stat(dir).catch(() => undefined))) {
    const asides = (await readdir(parent)).filter((n) => mine(n) && parseTempName(n)?.kind === 'old' && isStaleTemp(n));
    const newest = await newestOf(asides.map((n) => join(parent, n)));
    if (newest && (await isFile(join(newest, DATASET_INFO_FILE)))) {
      await rename(newest, dir);
      process.stderr.write(`falip: ${dir}: restored the dataset that an interrupted import had moved aside\n`);
    }
  }
  await removeStaleTemps(parent, (n) => !mine(n));
}

async function newestOf(paths: readonly string[]): Promise<string | undefined> {
  const times = await Promise.all(paths.map(async (p) => ({ p, t: (await stat(p)).mtimeMs })));
  return times.sort((a, b) => b.t - a.t)[0]?.p;
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && parseTempName(e.name) === null)
      .map((e) => e.name);
  } catch {
    return []; // no datasets root yet: nothing imported
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
