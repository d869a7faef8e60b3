import type { AttentionBias } from '../encoder/clip-encoder.js';
import type { BoxXYWH } from '../image/box.js';
import { boxToTokenRegion } from '../image/token-grid.js';
import { gridSize, type VisionConfig } from '../model/clip-config.js';
import { foveaBias, type MaskForm } from './falip-mask.js';
import { biasGate, formatLayers } from './layer-spec.js';

/** FALIP's parameters: the foveal mask and where it enters the network. */
export interface FalipParams {
  alpha: number;
  sigma: number;
  form: MaskForm;
  /** 0-based layers that receive the mask. */
  layers: number[];
  /** 0-based heads; undefined = all heads (the reference). */
  heads?: number[];
}

/** The paper's defaults: α 0.2, σ 100, form (a), the last 4 layers (9–12 of ViT-B/16), all heads. */
export function defaultFalipParams(v: VisionConfig): FalipParams {
  const L = v.numLayers;
  return { alpha: 0.2, sigma: 100, form: 'a', layers: [L - 4, L - 3, L - 2, L - 1] };
}

/** The attention bias that makes the image encoder look at `box` (original pixels of a W×H image). */
export function falipAttention(box: BoxXYWH, imageWidth: number, imageHeight: number, v: VisionConfig, p: FalipParams): AttentionBias {
  const region = boxToTokenRegion(box, imageWidth, imageHeight, v.imageSize, v.patchSize);
  return {
    bias: foveaBias(region, gridSize(v), { form: p.form, alpha: p.alpha, sigma: p.sigma }),
    gate: biasGate(p.layers, v.numLayers, v.numHeads, p.heads),
  };
}

export function describeFalip(p: FalipParams): string {
  const heads = p.heads ? `, heads ${p.heads.map((h) => h + 1).join(',')}` : '';
  return `α ${p.alpha}, σ ${p.sigma}, form ${p.form}, layers ${formatLayers(p.layers)}${heads}`;
}
