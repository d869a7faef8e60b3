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

/** Patch tokens per side of the square token grid (14 for ViT-B/16 at 224 px). */
export function gridSize(v: VisionConfig): number {
  return v.imageSize / v.patchSize;
}

/** Tokens in the vision sequence: CLS + grid² patches (197 for ViT-B/16). */
export function visionTokens(v: VisionConfig): number {
  return gridSize(v) ** 2 + 1;
}

/** Reads a Hugging Face `CLIPConfig` (config.json) object. */
export function fromHfConfig(json: unknown): ClipConfig {
  const o = json as Record<string, any>;
  const v = o?.vision_config;
  const t = o?.text_config;
  if (!v || !t) throw new Error('config.json: missing vision_config/text_config (not a CLIPConfig)');
  const num = (obj: Record<string, unknown>, key: string, where: string, fallback?: number): number => {
    const x = obj[key] ?? fallback;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`config.json: ${where}.${key} must be a number`);
    return x;
  };
  const act = (v.hidden_act ?? t.hidden_act ?? 'quick_gelu') as string;
  if (act !== 'quick_gelu' && act !== 'gelu') throw new Error(`config.json: vision_config.hidden_act '${act}' is not supported`);
  return {
    vision: {
      hiddenSize: num(v, 'hidden_size', 'vision_config'),
      intermediateSize: num(v, 'intermediate_size', 'vision_config'),
      numLayers: num(v, 'num_hidden_layers', 'vision_config'),
      numHeads: num(v, 'num_attention_heads', 'vision_config'),
      layerNormEps: num(v, 'layer_norm_eps', 'vision_config', 1e-5),
      patchSize: num(v, 'patch_size', 'vision_config'),
      imageSize: num(v, 'image_size', 'vision_config'),
    },
    text: {
      hiddenSize: num(t, 'hidden_size', 'text_config'),
      intermediateSize: num(t, 'intermediate_size', 'text_config'),
      numLayers: num(t, 'num_hidden_layers', 'text_config'),
      numHeads: num(t, 'num_attention_heads', 'text_config'),
      layerNormEps: num(t, 'layer_norm_eps', 'text_config', 1e-5),
      contextLength: num(t, 'max_position_embeddings', 'text_config', 77),
      vocabSize: num(t, 'vocab_size', 'text_config'),
    },
    projectionDim: num(o, 'projection_dim', 'config'),
    hiddenAct: act,
  };
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
  const eps = 1e-5;
  switch (arch) {
    case 'tiny':
      // ViT-B/16's token layout (patch 16, 224 px, 197 tokens, 12 layers) with small widths.
      return {
        vision: { hiddenSize: 64, intermediateSize: 256, numLayers: 12, numHeads: 4, layerNormEps: eps, patchSize: 16, imageSize: 224 },
        text: { hiddenSize: 64, intermediateSize: 256, numLayers: 4, numHeads: 4, layerNormEps: eps, contextLength: 77, vocabSize },
        projectionDim: 32,
        hiddenAct: 'quick_gelu',
      };
    case 'vit-b-16':
      return {
        vision: { hiddenSize: 768, intermediateSize: 3072, numLayers: 12, numHeads: 12, layerNormEps: eps, patchSize: 16, imageSize: 224 },
        text: { hiddenSize: 512, intermediateSize: 2048, numLayers: 12, numHeads: 8, layerNormEps: eps, contextLength: 77, vocabSize },
        projectionDim: 512,
        hiddenAct: 'quick_gelu',
      };
    case 'vit-l-14':
      return {
        vision: { hiddenSize: 1024, intermediateSize: 4096, numLayers: 24, numHeads: 16, layerNormEps: eps, patchSize: 14, imageSize: 224 },
        text: { hiddenSize: 768, intermediateSize: 3072, numLayers: 12, numHeads: 12, layerNormEps: eps, contextLength: 77, vocabSize },
        projectionDim: 768,
        hiddenAct: 'quick_gelu',
      };
  }
}

export const ARCH_NAMES: readonly ArchName[] = ['tiny', 'vit-b-16', 'vit-l-14'];
