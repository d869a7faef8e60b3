import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readTextFile } from '../util/text-file.js';
import { sha256OfFile } from '../util/sha256.js';
import { fromHfConfig, visionTokens, type ClipConfig } from './clip-config.js';
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

/**
 * Loads and validates a Hugging Face-layout CLIP folder (config.json + model.safetensors): the config
 * must describe the tensors present, not a subset of them (a 6-layer config over 12-layer weights
 * would otherwise run as a different, silently truncated model).
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const configPath = join(dir, 'config.json');
  const config = await readConfig(configPath);
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath)) throw new UserError(`${weightsPath}: not found`);
  // Hash while the tensors are read: both passes then share the page cache.
  const [raw, sha256] = await Promise.all([readSafetensors(weightsPath), sha256OfFile(weightsPath)]);
  const named = toHfNames(raw, weightsPath);
  checkAgainstConfig(named, config, weightsPath);
  return { config, weights: selectExpected(named, config, weightsPath), sha256 };
}

/** Reads and checks a folder's config.json (a UserError naming the file and field for anything wrong). */
export async function readConfig(path: string): Promise<ClipConfig> {
  const text = await readTextFile(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return fromHfConfig(json, path);
}

/** One past the highest `<tower>.encoder.layers.N.` index among the tensor names (0 when there is none). */
function layersIn(named: WeightMap, tower: 'vision_model' | 'text_model'): number {
  const pattern = new RegExp(`^${tower}\\.encoder\\.layers\\.(\\d+)\\.`);
  let count = 0;
  for (const name of named.keys()) {
    const m = pattern.exec(name);
    if (m) count = Math.max(count, Number(m[1]) + 1);
  }
  return count;
}

/** A size the config states that a tensor's shape also states: tensor, axis, what the axis is, config field, value. */
type SizeWitness = [tensor: string, axis: number, what: string, field: string, expected: number];

/**
 * Compares every size the weights reveal with the config, so a mismatch names both numbers instead
 * of one tensor's shape (config.json is the one beside `file`). The number of heads is the one size no tensor carries (q/k/v are D×D
 * whatever the split); readConfig checks that it divides the width.
 */
function checkAgainstConfig(named: WeightMap, config: ClipConfig, file: string): void {
  for (const [tower, section, c] of [
    ['vision_model', 'vision_config', config.vision],
    ['text_model', 'text_config', config.text],
  ] as const) {
    const present = layersIn(named, tower);
    if (present !== c.numLayers) {
      throw new UserError(
        `${file}: the weights have ${present} ${tower === 'vision_model' ? 'vision' : 'text'} layers but config.json ${section}.num_hidden_layers is ${c.numLayers}`,
      );
    }
  }
  const v = config.vision;
  const t = config.text;
  const witnesses: SizeWitness[] = [
    ['vision_model.embeddings.class_embedding', 0, 'elements', 'vision_config.hidden_size', v.hiddenSize],
    ['vision_model.embeddings.patch_embedding.weight', 2, 'kernel rows', 'vision_config.patch_size', v.patchSize],
    ['vision_model.encoder.layers.0.mlp.fc1.weight', 0, 'rows', 'vision_config.intermediate_size', v.intermediateSize],
    [
      'vision_model.embeddings.position_embedding.weight',
      0,
      'rows',
      `(vision_config.image_size / patch_size)² + 1 tokens`,
      visionTokens(v),
    ],
    ['visual_projection.weight', 0, 'rows', 'projection_dim', config.projectionDim],
    ['text_model.embeddings.token_embedding.weight', 0, 'rows', 'text_config.vocab_size', t.vocabSize],
    ['text_model.embeddings.token_embedding.weight', 1, 'columns', 'text_config.hidden_size', t.hiddenSize],
    ['text_model.encoder.layers.0.mlp.fc1.weight', 0, 'rows', 'text_config.intermediate_size', t.intermediateSize],
    [
      'text_model.embeddings.position_embedding.weight',
      0,
      'rows',
      'text_config.max_position_embeddings',
      t.contextLength,
    ],
  ];
  for (const [tensor, axis, what, field, expected] of witnesses) {
    const actual = named.get(tensor)?.shape[axis];
    if (actual !== undefined && actual !== expected) {
      throw new UserError(`${file}: ${tensor} has ${actual} ${what} but config.json ${field} is ${expected}`);
    }
  }
}

/** The tensors of `expectedShapes(config)`, each checked; anything else in the file is ignored. */
function selectExpected(named: WeightMap, config: ClipConfig, file: string): WeightMap {
  const weights: WeightMap = new Map();
  for (const [name, expected] of expectedShapes(config)) {
    const t = named.get(name);
    if (!t) {
      if (name !== LOGIT_SCALE_NAME) throw new UserError(`${file}: missing tensor ${name}`);
      weights.set(name, { shape: [], data: Float32Array.of(DEFAULT_LOGIT_SCALE) });
      continue;
    }
    if (t.shape.length !== expected.length || t.shape.some((n, i) => n !== expected[i])) {
      throw new UserError(
        `${file}: tensor ${name} has shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`,
      );
    }
    weights.set(name, t);
  }
  return weights;
}
