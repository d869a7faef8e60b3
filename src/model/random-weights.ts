import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { Rng } from '../util/rng.js';
import { toHfConfig, type ClipConfig } from './clip-config.js';
import { DEFAULT_LOGIT_SCALE, expectedShapes } from './expected-shapes.js';
import { writeSafetensors } from './safetensors.js';
import { numel, type WeightMap } from './tensor.js';

/**
 * Multiplies the q and k projections. Attention logits are q·k/√d_head; with unit-variance
 * inputs (after LayerNorm) and 1/√fan_in weights their spread is ≈1, giving near-uniform
 * attention, where FALIP's +0.2 logit bias on the CLS row barely moves the output. A gain g
 * scales the logits by g², so the CLS token attends to a few tokens and the bias shifts
 * measurable weight between them. Tune here if the masked/unmasked embedding gap is too small.
 */
export const QK_GAIN = 1.92;

/**
 * Multiplies the MLP output projection (fc2). FALIP acts only through attention, so the smaller
 * the MLPs' share of the residual stream, the more the biased attention moves the CLS embedding.
 */
export const MLP_OUT_GAIN = 0.15;

/**
 * Extra gains for the last four vision layers, where FALIP puts its mask by default. Larger v/out
 * projections let those layers' attention dominate the CLS token (as late heads do in trained CLIP)
 * and larger q/k sharpen it, so the +0.2 logit bias on a large box moves the normalized embedding
 * by a cosine distance of 1.4e-3..2.3e-3 on `tiny` (seeds 1-3, float64 reference) instead of ~1e-5:
 * tests can then tell a misplaced mask from a correct one. Sharper attention would amplify float32
 * rounding past the 1e-4 agreement the graph tests ask for (at these gains: ≤ 4e-5).
 */
export const LATE_VALUE_GAIN = 4.5;
export const LATE_QK_GAIN = 1.28;
const LATE_LAYERS = 4;

/** LayerNorm gains are 1 and biases 0 when trained from scratch; a little noise keeps them distinct. */
const LAYER_NORM_NOISE_STD = 0.02;
/** Linear biases start small so that the weights, not the offsets, carry the signal. */
const BIAS_STD = 0.02;
/**
 * The patch embedding (std 1/√(3p²)) maps normalized pixels to ≈unit-variance tokens. CLS is drawn
 * at that scale too: a small CLS would be indistinguishable from a blank patch.
 */
const CLASS_EMBEDDING_STD = 1;
/** Above the patch scale: positions are what keep the patch tokens of a random encoder distinct. */
const VISION_POSITION_STD = 2;
/** CLIP's own text initialisation; the first LayerNorm rescales these anyway. */
const TOKEN_EMBEDDING_STD = 0.02;
const TEXT_POSITION_STD = 0.01;

type Init = { kind: 'normal'; mean: number; std: number } | { kind: 'constant'; value: number };

const LAYER_NORM = /(layer_norm\d|pre_layrnorm|post_layernorm|final_layer_norm)\.(weight|bias)$/;

/** How each canonical tensor is initialised, by name (first match wins). */
function initFor(name: string, shape: number[], visionLayers: number): Init {
  const normal = (std: number, mean = 0): Init => ({ kind: 'normal', mean, std });
  // Weights map fan_in inputs to each output: 1/√fan_in keeps unit variance through the layer.
  const fanInStd = (): number => 1 / Math.sqrt(numel(shape.slice(1)));
  const norm = LAYER_NORM.exec(name);
  if (norm) return normal(LAYER_NORM_NOISE_STD, norm[2] === 'weight' ? 1 : 0);
  if (name === 'logit_scale') return { kind: 'constant', value: DEFAULT_LOGIT_SCALE };
  if (name === 'vision_model.embeddings.class_embedding') return normal(CLASS_EMBEDDING_STD);
  if (name === 'vision_model.embeddings.position_embedding.weight') return normal(VISION_POSITION_STD);
  if (name === 'text_model.embeddings.token_embedding.weight') return normal(TOKEN_EMBEDDING_STD);
  if (name === 'text_model.embeddings.position_embedding.weight') return normal(TEXT_POSITION_STD);
  if (name.endsWith('.bias')) return normal(BIAS_STD);
  const layer = /^vision_model\.encoder\.layers\.(\d+)\./.exec(name);
  const late = layer !== null && Number(layer[1]) >= visionLayers - LATE_LAYERS;
  if (/\.(q_proj|k_proj)\.weight$/.test(name)) return normal(QK_GAIN * (late ? LATE_QK_GAIN : 1) * fanInStd());
  if (late && /\.(v_proj|out_proj)\.weight$/.test(name)) return normal(LATE_VALUE_GAIN * fanInStd());
  if (name.endsWith('.mlp.fc2.weight')) return normal(MLP_OUT_GAIN * fanInStd());
  return normal(fanInStd());
}

/**
 * Deterministic random CLIP weights: one generator seeded with `seed` fills the tensors in
 * `expectedShapes` order, so the same seed and config always give the same bytes.
 */
export function randomWeights(config: ClipConfig, seed: number): WeightMap {
  const rng = new Rng(seed);
  const weights: WeightMap = new Map();
  for (const [name, shape] of expectedShapes(config)) {
    const data = new Float32Array(numel(shape));
    const init = initFor(name, shape, config.vision.numLayers);
    if (init.kind === 'constant') {
      data.fill(init.value);
    } else {
      rng.fillNormal(data, init.std);
      if (init.mean !== 0) for (let i = 0; i < data.length; i++) data[i]! += init.mean;
    }
    weights.set(name, { shape, data });
  }
  return weights;
}

export interface VocabFiles {
  /** Contents of vocab.json. */
  vocabJson: string;
  /** Contents of merges.txt. */
  mergesTxt: string;
}

/** Writes a Hugging Face-layout model folder; every file appears whole or not at all. */
export async function writeModelFolder(
  dir: string,
  config: ClipConfig,
  weights: WeightMap,
  vocabFiles: VocabFiles,
  metadata: Record<string, string> = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(toHfConfig(config), null, 2)}\n`);
  // transformers refuses safetensors files whose metadata lacks a known format.
  await writeSafetensors(join(dir, 'model.safetensors'), weights, { format: 'pt', ...metadata });
  await writeFileAtomic(join(dir, 'vocab.json'), vocabFiles.vocabJson);
  await writeFileAtomic(join(dir, 'merges.txt'), vocabFiles.mergesTxt);
}
