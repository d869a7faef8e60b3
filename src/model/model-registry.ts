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
  type ModelRecordState,
} from './model-store.js';
import { writeRandomModel } from './random-model.js';
import { rememberSha256 } from './source-hash.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import { sha256OfFile } from '../util/sha256.js';
import { ClipTokenizer } from './tokenizer.js';
import { readSafetensorsMetadata } from './safetensors.js';

/** The built-in test model: random weights generated on first use, seed 0, byte-level vocabulary. */
export const TINY_MODEL = 'tiny';
const TINY_SEED = 0;

/**
 * The model the demo sets run on when no --model is given: the `tiny` architecture trained on the demo's
 * synthetic shapes (tools/train-demo-model), shipped in assets/demo-model and registered on first use.
 * A random model would show the plumbing only; this one has learned enough for FALIP to move its answers.
 */
export const DEMO_MODEL = 'demo';
export const DEMO_MODEL_DIR = path.join(REPO_ROOT, 'assets', 'demo-model');
/** sha256 of the shipped model.safetensors: the demo's numbers are this model's, so a changed file is refused. */
export const DEMO_MODEL_SHA256 = '34560458fa5c201bcfb1476d53f9f28574b3dac7874ca4d9334e6b731d318a6c';

/** What `falip model list` says about the shipped demo model (the README's model card, in one line). */
export const DEMO_MODEL_CARD =
  "a small CLIP trained on synthetic shapes (0.9M parameters besides its token table): its numbers show FALIP's mechanism, not CLIP's accuracy; README: The demo model";

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
  const source = path.join(modelDir(TINY_MODEL), 'checkpoint');
  return ensureRegistered(
    TINY_MODEL,
    // A record without `random_weights` was written before falip marked its random weights: regenerate.
    (found) =>
      found.state === 'ok' &&
      found.record.source === source &&
      found.record.random_weights !== undefined &&
      existsSync(path.join(source, 'model.safetensors')),
    async (found) => {
      if (found.state === 'corrupt')
        process.stderr.write(
          `falip: ${found.file}: corrupt model record (${found.reason}), regenerating the tiny model\n`,
        );
      await removeStaleTemps(source);
      await writeRandomModel({ arch: 'tiny', seed: TINY_SEED, out: source });
      await importLocked(source, TINY_MODEL, { force: true });
    },
  );
}

/**
 * Registers the shipped demo model when it is not registered from this checkout's assets/demo-model yet
 * (first use, or a checkout that moved). Its weights must be the ones the README's numbers come from.
 */
export function ensureDemoModel(): Promise<void> {
  return ensureRegistered(
    DEMO_MODEL,
    (found) =>
      found.state === 'ok' && found.record.source === DEMO_MODEL_DIR && found.record.sha256 === DEMO_MODEL_SHA256,
    async (found) => {
      if (found.state === 'corrupt')
        process.stderr.write(
          `falip: ${found.file}: corrupt model record (${found.reason}), registering the demo model again\n`,
        );
      const weights = path.join(DEMO_MODEL_DIR, 'model.safetensors');
      if (!existsSync(weights))
        throw new UserError(`${weights}: not found; restore the shipped demo model (git checkout assets/demo-model)`);
      const sha256 = await sha256OfFile(weights);
      if (sha256 !== DEMO_MODEL_SHA256) {
        throw new UserError(
          `${weights}: sha256 ${sha256.slice(0, 12)} is not the shipped demo model's (${DEMO_MODEL_SHA256.slice(0, 12)}); restore it (git checkout assets/demo-model)`,
        );
      }
      await importLocked(DEMO_MODEL_DIR, DEMO_MODEL, { force: true });
    },
  );
}

/**
 * Registers a built-in model when `ready` says its record is not what it should be. Several processes
 * may start from an empty models folder at once (shards, parallel tests): the second waits for the
 * first under the name's lock, looks again, and finds the model there.
 */
function ensureRegistered(
  name: string,
  ready: (found: ModelRecordState) => boolean,
  register: (found: ModelRecordState) => Promise<void>,
): Promise<void> {
  return withFsErrors(async () => {
    if (ready(await inspectModelRecord(name))) return;
    const lock = await modelLock(name, true);
    try {
      const found = await inspectModelRecord(name);
      if (!ready(found)) await register(found);
    } finally {
      lock.release();
    }
  });
}

/** Makes a built-in model (`tiny`, `demo`) ready when `name` is one; any other name is left to resolveModel. */
export async function ensureBuiltInModel(name: string): Promise<void> {
  if (name === TINY_MODEL) await ensureTinyModel();
  if (name === DEMO_MODEL) await ensureDemoModel();
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
