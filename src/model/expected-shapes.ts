import { visionTokens, type ClipConfig, type TowerConfig } from './clip-config.js';

/** `logit_scale` may be absent from a checkpoint; trained CLIP saturates it at ln 100. */
export const LOGIT_SCALE_NAME = 'logit_scale';
export const DEFAULT_LOGIT_SCALE = Math.log(100);

/**
 * Every tensor of a Hugging Face `CLIPModel` with its shape (Linear weights are [out, in]), in a
 * fixed order: embeddings, layers, final norms, projections, logit_scale.
 */
export function expectedShapes(config: ClipConfig): Map<string, number[]> {
  const v = config.vision;
  const t = config.text;
  const shapes = new Map<string, number[]>();
  const add = (name: string, shape: number[]): void => void shapes.set(name, shape);

  add('vision_model.embeddings.class_embedding', [v.hiddenSize]);
  add('vision_model.embeddings.patch_embedding.weight', [v.hiddenSize, 3, v.patchSize, v.patchSize]);
  add('vision_model.embeddings.position_embedding.weight', [visionTokens(v), v.hiddenSize]);
  addLayerNorm(add, 'vision_model.pre_layrnorm', v.hiddenSize);
  addEncoderLayers(add, 'vision_model', v);
  addLayerNorm(add, 'vision_model.post_layernorm', v.hiddenSize);
  add('visual_projection.weight', [config.projectionDim, v.hiddenSize]);

  add('text_model.embeddings.token_embedding.weight', [t.vocabSize, t.hiddenSize]);
  add('text_model.embeddings.position_embedding.weight', [t.contextLength, t.hiddenSize]);
  addEncoderLayers(add, 'text_model', t);
  addLayerNorm(add, 'text_model.final_layer_norm', t.hiddenSize);
  add('text_projection.weight', [config.projectionDim, t.hiddenSize]);

  add(LOGIT_SCALE_NAME, []);
  return shapes;
}

type AddShape = (name: string, shape: number[]) => void;

function addLayerNorm(add: AddShape, prefix: string, width: number): void {
  add(`${prefix}.weight`, [width]);
  add(`${prefix}.bias`, [width]);
}

function addLinear(add: AddShape, prefix: string, inFeatures: number, outFeatures: number): void {
  add(`${prefix}.weight`, [outFeatures, inFeatures]);
  add(`${prefix}.bias`, [outFeatures]);
}

function addEncoderLayers(add: AddShape, tower: string, c: TowerConfig): void {
  const d = c.hiddenSize;
  for (let i = 0; i < c.numLayers; i++) {
    const layer = `${tower}.encoder.layers.${i}`;
    addLayerNorm(add, `${layer}.layer_norm1`, d);
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) addLinear(add, `${layer}.self_attn.${proj}`, d, d);
    addLayerNorm(add, `${layer}.layer_norm2`, d);
    addLinear(add, `${layer}.mlp.fc1`, d, c.intermediateSize);
    addLinear(add, `${layer}.mlp.fc2`, c.intermediateSize, d);
  }
}
