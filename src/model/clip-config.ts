import { UserError } from '../util/errors.js';

/** Dimensions of one CLIP tower (vision or text transformer). */
export interface TowerConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  layerNormEps: number;
}

export interface VisionConfig extends TowerConfig {
  patchSize: number;
  imageSize: number;
}

export interface TextConfig extends TowerConfig {
  /** Context length (77 for every OpenAI CLIP). */
  contextLength: number;
  vocabSize: number;
}

/** The architecture of a CLIP model, independent of the checkpoint's naming convention. */
export interface ClipConfig {
  vision: VisionConfig;
  text: TextConfig;
  projectionDim: number;
  /** OpenAI checkpoints use QuickGELU (x·σ(1.702x)). */
  hiddenAct: 'quick_gelu' | 'gelu';
}

export type ArchName = 'tiny' | 'vit-b-16' | 'vit-l-14';

/** What transformers assumes when config.json leaves `layer_norm_eps` out (and what every OpenAI CLIP uses). */
const DEFAULT_LAYER_NORM_EPS = 1e-5;

/** Patch tokens per side of the square token grid (14 for ViT-B/16 at 224 px). */
export function gridSize(v: VisionConfig): number {
  return v.imageSize / v.patchSize;
}

/** Tokens in the vision sequence: CLS + grid² patches (197 for ViT-B/16). */
export function visionTokens(v: VisionConfig): number {
  return gridSize(v) ** 2 + 1;
}

type JsonObject = Record<string, unknown>;

function isObject(x: unknown): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Reads a Hugging Face `CLIPConfig` (config.json) object, range-checking every size: a zero, negative
 * or fractional layer count would otherwise build a graph that fails later with a RangeError, or (worse)
 * one that silently computes something else. Problems are UserErrors `<where>: <field>: <problem>`.
 */
export function fromHfConfig(json: unknown, where = 'config.json'): ClipConfig {
  const fail = (field: string, problem: string): never => {
    throw new UserError(`${where}: ${field}: ${problem}`);
  };
  if (!isObject(json) || !isObject(json.vision_config) || !isObject(json.text_config)) {
    throw new UserError(`${where}: missing vision_config/text_config (not a CLIPConfig)`);
  }
  const v = json.vision_config;
  const t = json.text_config;
  const size = (obj: JsonObject, section: string, key: string, fallback?: number): number => {
    const x = obj[key] ?? fallback;
    const field = section ? `${section}.${key}` : key;
    if (x === undefined) return fail(field, 'missing');
    if (!Number.isSafeInteger(x) || (x as number) <= 0)
      fail(field, `must be a positive integer, got ${JSON.stringify(x)}`);
    return x as number;
  };
  const eps = (obj: JsonObject, section: string): number => {
    const x = obj.layer_norm_eps ?? DEFAULT_LAYER_NORM_EPS;
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0)
      fail(`${section}.layer_norm_eps`, `must be a finite number > 0, got ${JSON.stringify(x)}`);
    return x as number;
  };
  const act = v.hidden_act ?? t.hidden_act ?? 'quick_gelu';
  if (act !== 'quick_gelu' && act !== 'gelu')
    fail('vision_config.hidden_act', `${JSON.stringify(act)} is not supported (quick_gelu or gelu)`);
  const config: ClipConfig = {
    vision: {
      hiddenSize: size(v, 'vision_config', 'hidden_size'),
      intermediateSize: size(v, 'vision_config', 'intermediate_size'),
      numLayers: size(v, 'vision_config', 'num_hidden_layers'),
      numHeads: size(v, 'vision_config', 'num_attention_heads'),
      layerNormEps: eps(v, 'vision_config'),
      patchSize: size(v, 'vision_config', 'patch_size'),
      imageSize: size(v, 'vision_config', 'image_size'),
    },
    text: {
      hiddenSize: size(t, 'text_config', 'hidden_size'),
      intermediateSize: size(t, 'text_config', 'intermediate_size'),
      numLayers: size(t, 'text_config', 'num_hidden_layers'),
      numHeads: size(t, 'text_config', 'num_attention_heads'),
      layerNormEps: eps(t, 'text_config'),
      contextLength: size(t, 'text_config', 'max_position_embeddings', 77),
      vocabSize: size(t, 'text_config', 'vocab_size'),
    },
    projectionDim: size(json, '', 'projection_dim'),
    hiddenAct: act as ClipConfig['hiddenAct'],
  };
  for (const [section, c] of [
    ['vision_config', config.vision],
    ['text_config', config.text],
  ] as const) {
    if (c.hiddenSize % c.numHeads !== 0) {
      fail(`${section}.hidden_size`, `${c.hiddenSize} is not a multiple of num_attention_heads ${c.numHeads}`);
    }
  }
  if (config.vision.imageSize % config.vision.patchSize !== 0) {
    fail(
      'vision_config.image_size',
      `${config.vision.imageSize} is not a multiple of patch_size ${config.vision.patchSize}`,
    );
  }
  return config;
}

/** Writes the `CLIPConfig` fields transformers needs to load the folder. */
export function toHfConfig(c: ClipConfig): Record<string, unknown> {
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: c.projectionDim,
    logit_scale_init_value: 2.6592,
    torch_dtype: 'float32',
    text_config: {
      model_type: 'clip_text_model',
      hidden_size: c.text.hiddenSize,
      intermediate_size: c.text.intermediateSize,
      num_hidden_layers: c.text.numLayers,
      num_attention_heads: c.text.numHeads,
      layer_norm_eps: c.text.layerNormEps,
      max_position_embeddings: c.text.contextLength,
      vocab_size: c.text.vocabSize,
      hidden_act: c.hiddenAct,
      projection_dim: c.projectionDim,
      bos_token_id: c.text.vocabSize - 2,
      eos_token_id: c.text.vocabSize - 1,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: c.vision.hiddenSize,
      intermediate_size: c.vision.intermediateSize,
      num_hidden_layers: c.vision.numLayers,
      num_attention_heads: c.vision.numHeads,
      layer_norm_eps: c.vision.layerNormEps,
      patch_size: c.vision.patchSize,
      image_size: c.vision.imageSize,
      num_channels: 3,
      hidden_act: c.hiddenAct,
      projection_dim: c.projectionDim,
    },
  };
}

/**
 * Shapes of the architectures `falip model random` can generate. The text vocabulary size is set by
 * the vocabulary written beside the weights (514 byte-level tokens, or 49408 for CLIP's BPE).
 */
export function archConfig(arch: ArchName, vocabSize: number): ClipConfig {
  const eps = DEFAULT_LAYER_NORM_EPS;
  switch (arch) {
    case 'tiny':
      // ViT-B/16's token layout (patch 16, 224 px, 197 tokens, 12 layers) with small widths.
      return {
        vision: {
          hiddenSize: 64,
          intermediateSize: 256,
          numLayers: 12,
          numHeads: 4,
          layerNormEps: eps,
          patchSize: 16,
          imageSize: 224,
        },
        text: {
          hiddenSize: 64,
          intermediateSize: 256,
          numLayers: 4,
          numHeads: 4,
          layerNormEps: eps,
          contextLength: 77,
          vocabSize,
        },
        projectionDim: 32,
        hiddenAct: 'quick_gelu',
      };
    case 'vit-b-16':
      return {
        vision: {
          hiddenSize: 768,
          intermediateSize: 3072,
          numLayers: 12,
          numHeads: 12,
          layerNormEps: eps,
          patchSize: 16,
          imageSize: 224,
        },
        text: {
          hiddenSize: 512,
          intermediateSize: 2048,
          numLayers: 12,
          numHeads: 8,
          layerNormEps: eps,
          contextLength: 77,
          vocabSize,
        },
        projectionDim: 512,
        hiddenAct: 'quick_gelu',
      };
    case 'vit-l-14':
      return {
        vision: {
          hiddenSize: 1024,
          intermediateSize: 4096,
          numLayers: 24,
          numHeads: 16,
          layerNormEps: eps,
          patchSize: 14,
          imageSize: 224,
        },
        text: {
          hiddenSize: 768,
          intermediateSize: 3072,
          numLayers: 12,
          numHeads: 12,
          layerNormEps: eps,
          contextLength: 77,
          vocabSize,
        },
        projectionDim: 768,
        hiddenAct: 'quick_gelu',
      };
  }
}

export const ARCH_NAMES = ['tiny', 'vit-b-16', 'vit-l-14'] as const satisfies readonly ArchName[];
