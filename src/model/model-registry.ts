import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { modelsRoot } from '../util/repo-paths.js';
import { loadCheckpoint } from './checkpoint.js';
import type { ClipConfig } from './clip-config.js';
import { writeRandomModel } from './random-model.js';
import { NAME_PATTERN, modelDir, readModelRecord, writeModelRecord, type ModelRecord } from './model-store.js';

/** The built-in demo/test model: generated on first use, seed 0, byte-level vocabulary. */
export const TINY_MODEL = 'tiny';
const TINY_SEED = 0;

function archLabel(c: ClipConfig): string {
  return `ViT ${c.vision.numLayers}x${c.vision.hiddenSize}/${c.vision.patchSize}@${c.vision.imageSize}`;
}

/** Validates a checkpoint folder (every tensor present, right shapes) and records it under `name`. */
export async function importModel(dir: string, name: string): Promise<ModelRecord> {
  if (!NAME_PATTERN.test(name)) throw new UserError(`--name ${name}: use letters, digits, '.', '_' or '-'`);
  const source = path.resolve(dir);
  const { config, sha256 } = await loadCheckpoint(source);
  for (const f of ['vocab.json', 'merges.txt']) {
    if (!existsSync(path.join(source, f))) throw new UserError(`${path.join(source, f)}: not found (the tokenizer files belong beside the weights)`);
  }
  const rec: ModelRecord = {
    name,
    source,
    sha256,
    arch: archLabel(config),
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
  };
  await writeModelRecord(rec);
  return rec;
}

/** Generates and registers the tiny model when it is not there yet. */
export async function ensureTinyModel(): Promise<void> {
  if (await readModelRecord(TINY_MODEL)) return;
  const source = path.join(modelDir(TINY_MODEL), 'checkpoint');
  await writeRandomModel({ arch: 'tiny', seed: TINY_SEED, out: source });
  await importModel(source, TINY_MODEL);
}

export async function listModels(): Promise<ModelRecord[]> {
  const root = modelsRoot();
  if (!existsSync(root)) return [];
  const names = (await readdir(root)).filter((n) => NAME_PATTERN.test(n)).sort();
  const recs = await Promise.all(names.map((n) => readModelRecord(n)));
  return recs.filter((r): r is ModelRecord => r !== undefined);
}
