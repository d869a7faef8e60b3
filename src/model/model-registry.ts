import { constants, existsSync, statSync } from 'node:fs';
import { access, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { removeStaleTemps } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { FileLock } from '../util/file-lock.js';
import { fsCodeWords, withFsErrors } from '../util/fs-errors.js';
import { loadCheckpoint, type Checkpoint } from './checkpoint.js';
import { graphsFolderName } from './graph-cache.js';
import { modelIdentity } from './model-identity.js';
import {
  NAME_PATTERN,
  inspectModelRecord,
  modelDir,
  modelsFolder,
  writeModelRecord,
  type ModelRecord,
} from './model-store.js';
import { writeRandomModel } from './random-model.js';
import { rememberSha256 } from './source-hash.js';
import { ClipTokenizer } from './tokenizer.js';
import { readSafetensorsMetadata } from './safetensors.js';

/** The built-in demo/test model: generated on first use, seed 0, byte-level vocabulary. */
export const TINY_MODEL = 'tiny';

/** The model the demo sets run on when no --model is given (issue 19 replaces it by the trained demo CLIP). */
export const DEMO_MODEL = TINY_MODEL;
const TINY_SEED = 0;

export interface ImportOptions {
  /** Replace a model already registered under the name (otherwise refused: results would change meaning). */
  force?: boolean;
}

/** How long the tiny model's generation waits for another process generating it. */
const TINY_WAIT_MS = 5 * 60_000;

/**
 * The lock of one model name (`<models>/.<name>.lock`): two imports of one name at once would both say
 * "registered" while one of them is lost, so the second is refused at once.
 */
function modelLock(name: string, wait: false): FileLock;
function modelLock(name: string, wait: true): Promise<FileLock>;
function modelLock(name: string, wait: boolean): FileLock | Promise<FileLock> {
  const root = modelsFolder();
  mkdirSync(root, { recursive: true });
  const file = path.join(root, `.${name}.lock`);
  const words = { what: `model '${name}'`, advice: 'wait for that import to finish' };
  return wait ? FileLock.acquireWaiting(file, words, TINY_WAIT_MS) : FileLock.acquire(file, words);
}

/**
 * The models folder can be made and written, said in words before anything is read: on a read-only
 * file system the recursive mkdir reports ENOENT ('not found'). A file in the way is left to that
 * mkdir, which names it.
 */
async function checkModelsWritable(root: string): Promise<void> {
  let existing = root;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  if (!statSync(existing).isDirectory()) return;
  try {
    await access(existing, constants.W_OK);
  } catch (err) {
    throw new UserError(
      `models folder ${root}: cannot write in ${existing} (${fsCodeWords((err as NodeJS.ErrnoException).code)})`,
    );
  }
}

/**
 * Validates a checkpoint folder and records it under `name`: every tensor present with the shape the
 * config gives, no layers beyond the config's, and a tokenizer whose ids fit the token embedding. The
 * name is locked meanwhile: a second import of it at once is refused (exit 2), and one after it finds
 * the name taken (unless --force).
 */
export function importModel(dir: string, name: string, opts: ImportOptions = {}): Promise<ModelRecord> {
  return withFsErrors(async () => {
    if (!NAME_PATTERN.test(name)) throw new UserError(`--name ${name}: use letters, digits, '.', '_' or '-'`);
    await checkModelsWritable(modelsFolder());
    const lock = modelLock(name, false);
    try {
      return await importLocked(dir, name, opts);
    } finally {
      lock.release();
    }
  });
}

/** `importModel` for a caller that holds the name's lock. */
async function importLocked(dir: string, name: string, opts: ImportOptions): Promise<ModelRecord> {
  await removeStaleTemps(modelDir(name));
  const source = path.resolve(dir);
  if (!existsSync(source)) throw new UserError(`${source}: not found`);
  const previous = await inspectModelRecord(name);
  if (previous.state !== 'missing' && !opts.force) {
    const from = previous.state === 'ok' ? `from ${previous.record.source}` : `(its ${previous.file} is damaged)`;
    throw new UserError(`model '${name}' is already registered ${from}; pass --force to replace it`);
  }
  const weightsFile = path.join(source, 'model.safetensors');
  const before = existsSync(weightsFile) ? await stat(weightsFile) : undefined;
  const checkpoint = await loadCheckpoint(source);
  await checkTokenizer(source, checkpoint);
  const rec = recordFor(name, source, checkpoint, await readSafetensorsMetadata(weightsFile));
  await writeModelRecord(rec);
  if (previous.state === 'ok') await removeStaleGraphs(previous.record, rec);
  // loadCheckpoint hashed the weights; keep that so the first run need not hash them again, unless
  // the file changed while it was being read.
  const after = await stat(weightsFile);
  if (before && before.size === after.size && before.mtimeMs === after.mtimeMs && before.ino === after.ino) {
    await rememberSha256(weightsFile, modelDir(name), checkpoint.sha256, after);
  }
  return rec;
}

/** vocab.json and merges.txt must parse, and their ids must be exactly the token embedding's rows. */
async function checkTokenizer(source: string, { config }: Checkpoint): Promise<void> {
  const vocabPath = path.join(source, 'vocab.json');
  for (const f of [vocabPath, path.join(source, 'merges.txt')]) {
    if (!existsSync(f)) throw new UserError(`${f}: not found (the tokenizer files belong beside the weights)`);
  }
  const tokenizer = await ClipTokenizer.fromFiles(vocabPath, path.join(source, 'merges.txt'));
  const rows = config.text.vocabSize;
  if (tokenizer.vocabSize !== rows || tokenizer.maxId !== rows - 1) {
    throw new UserError(
      `${vocabPath}: ${tokenizer.vocabSize} tokens with ids up to ${tokenizer.maxId}, but config.json text_config.vocab_size is ${rows} (ids 0..${rows - 1})`,
    );
  }
}

function recordFor(
  name: string,
  source: string,
  { config, sha256 }: Checkpoint,
  metadata: Record<string, string>,
): ModelRecord {
  const identity = modelIdentity(sha256, config, metadata);
  return {
    name,
    source,
    sha256,
    config_hash: identity.configHash,
    arch: identity.arch,
    dims: {
      vision_width: config.vision.hiddenSize,
      vision_layers: config.vision.numLayers,
      vision_heads: config.vision.numHeads,
      patch: config.vision.patchSize,
      image_size: config.vision.imageSize,
      text_width: config.text.hiddenSize,
      text_layers: config.text.numLayers,
      vocab: config.text.vocabSize,
      projection: config.projectionDim,
    },
    random_weights: identity.randomWeights,
  };
}

/** A replaced model's graphs can never be used again (their folder names hold the old identity); a ViT-L's are GBs. */
async function removeStaleGraphs(old: ModelRecord, current: ModelRecord): Promise<void> {
  const stale = graphsFolderName({ sha256: old.sha256, configHash: old.config_hash });
  if (stale === graphsFolderName({ sha256: current.sha256, configHash: current.config_hash })) return;
  await rm(path.join(modelDir(current.name), stale), { recursive: true, force: true });
}

/**
 * Generates and registers the tiny model when it is not there yet, and repairs it when its record or
 * checkpoint was damaged. Two processes may do this at once from an empty models folder: the second
 * waits for the first (the name's lock) and finds the model there.
 */
export function ensureTinyModel(): Promise<void> {
  return withFsErrors(async () => {
    const source = path.join(modelDir(TINY_MODEL), 'checkpoint');
    // A record without `random_weights` was written before falip marked its random weights: regenerate.
    const ready = async () => {
      const found = await inspectModelRecord(TINY_MODEL);
      return (
        found.state === 'ok' &&
        found.record.source === source &&
        found.record.random_weights !== undefined &&
        existsSync(path.join(source, 'model.safetensors'))
      );
    };
    if (await ready()) return;
    const lock = await modelLock(TINY_MODEL, true);
    try {
      if (await ready()) return;
      const found = await inspectModelRecord(TINY_MODEL);
      if (found.state === 'corrupt')
        process.stderr.write(
          `falip: ${found.file}: corrupt model record (${found.reason}), regenerating the tiny model\n`,
        );
      await removeStaleTemps(source);
      await writeRandomModel({ arch: 'tiny', seed: TINY_SEED, out: source });
      await importLocked(source, TINY_MODEL, { force: true });
    } finally {
      lock.release();
    }
  });
}

/** One registered model as `falip model list` shows it: its record, or why its model.json cannot be read. */
export type ModelListing = { name: string; record: ModelRecord } | { name: string; problem: string };

export function listModels(): Promise<ModelListing[]> {
  return withFsErrors(async () => {
    const root = modelsFolder();
    if (!existsSync(root)) return [];
    const names = (await readdir(root)).filter((n) => NAME_PATTERN.test(n)).sort();
    const listings: ModelListing[] = [];
    for (const name of names) {
      const found = await inspectModelRecord(name);
      if (found.state === 'ok') listings.push({ name, record: found.record });
      if (found.state === 'corrupt') listings.push({ name, problem: `${found.file}: ${found.reason}` });
    }
    return listings;
  });
}
