import { visionTokens, type ClipConfig } from '../model/clip-config.js';

/**
 * Floating-point operations (a multiply and an add count as two) of one image through the vision
 * tower: the matrix products only — layer norms, softmax and activations are a rounding error next
 * to them. ViT-B/16: 35.1 GFLOP, i.e. the 17.5 G multiply-adds usually quoted as "17.5 GFLOPs".
 */
export function visionForwardFlops(cfg: ClipConfig): number {
  const v = cfg.vision;
  const T = visionTokens(v);
  const D = v.hiddenSize;
  const I = v.intermediateSize;
  const p = v.patchSize;
  const qkv = 2 * T * D * 3 * D;
  const scoresAndValues = 2 * 2 * T * T * D;
  const outProjection = 2 * T * D * D;
  const mlp = 2 * 2 * T * D * I;
  const patchEmbedding = 2 * (T - 1) * D * 3 * p * p;
  const projection = 2 * D * cfg.projectionDim;
  return v.numLayers * (qkv + scoresAndValues + outProjection + mlp) + patchEmbedding + projection;
}
