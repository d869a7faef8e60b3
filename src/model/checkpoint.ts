import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { sha256OfFile } from '../util/sha256.js';
import { fromHfConfig, type ClipConfig } from './clip-config.js';
import { DEFAULT_LOGIT_SCALE, LOGIT_SCALE_NAME, expectedShapes } from './expected-shapes.js';
import { readSafetensors } from './safetensors.js';
import type { WeightMap } from './tensor.js';
import { toHfNames } from './weight-names.js';

export interface Checkpoint {
  config: ClipConfig;
  /** Exactly the tensors of `expectedShapes(config)`, under HF names, in that order. */
  weights: WeightMap;
  /** Hex SHA-256 of model.safetensors: identifies the weights in reports. */
  sha256: string;
}

/** Loads and validates a Hugging Face-layout CLIP folder (config.json + model.safetensors). */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const config = await readConfig(join(dir, 'config.json'));
  const weightsPath = join(dir, 'model.safetensors');
  await access(weightsPath).catch(() => {
    throw new UserError(`${weightsPath}: not found`);
  });
  // Hash while the tensors are read: both passes then share the page cache.
  const [raw, sha256] = await Promise.all([readSafetensors(weightsPath), sha256OfFile(weightsPath)]);
  const weights = validateWeights(toHfNames(raw, weightsPath), config, weightsPath);
  return { config, weights, sha256 };
}

/** Reads and checks a folder's config.json (a UserError naming the file for anything wrong). */
export async function readConfig(path: string): Promise<ClipConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${path}: not found`);
  }
  let config: ClipConfig;
  try {
    config = fromHfConfig(JSON.parse(text));
  } catch (e) {
    // fromHfConfig prefixes its messages with the bare file name; report the full path instead.
    throw new UserError(`${path}: ${(e as Error).message.replace(/^config\.json: /, '')}`);
  }
  for (const [tower, c] of [['vision_config', config.vision], ['text_config', config.text]] as const) {
    if (c.hiddenSize % c.numHeads !== 0) {
      throw new UserError(`${path}: ${tower}.hidden_size ${c.hiddenSize} is not a multiple of num_attention_heads ${c.numHeads}`);
    }
  }
  if (config.vision.imageSize % config.vision.patchSize !== 0) {
    throw new UserError(`${path}: vision_config.image_size ${config.vision.imageSize} is not a multiple of patch_size ${config.vision.patchSize}`);
  }
  return config;
}

function validateWeights(named: WeightMap, config: ClipConfig, file: string): WeightMap {
  const tokenEmbedding = named.get('text_model.embeddings.token_embedding.weight');
  if (tokenEmbedding && tokenEmbedding.shape[0] !== config.text.vocabSize) {
    throw new UserError(
      `${file}: text_model.embeddings.token_embedding.weight has ${tokenEmbedding.shape[0]} rows but config.json text_config.vocab_size is ${config.text.vocabSize}`,
    );
  }
  const weights: WeightMap = new Map();
  for (const [name, expected] of expectedShapes(config)) {
    const t = named.get(name);
    if (!t) {
      if (name !== LOGIT_SCALE_NAME) throw new UserError(`${file}: missing tensor ${name}`);
      weights.set(name, { shape: [], data: Float32Array.of(DEFAULT_LOGIT_SCALE) });
      continue;
    }
    if (t.shape.length !== expected.length || t.shape.some((n, i) => n !== expected[i])) {
      throw new UserError(`${file}: tensor ${name} has shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`);
    }
    weights.set(name, t);
  }
  return weights;
}
