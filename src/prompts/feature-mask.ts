import { regionTokens, type TokenRegion } from '../image/token-grid.js';
import type { VisionConfig } from '../model/clip-config.js';
import type { TokenScaleSite } from '../model/onnx/vision-graph.js';
import { defaultFalipParams } from './falip.js';

/**
 * Where the feature-mask ablation (paper Table 5 / Fig. 7a) multiplies the features. The paper says
 * neither the layers nor the tensor (reference §7.2), so this is our choice: the residual stream at the
 * input of FALIP's layers (the last 4), i.e. the same place FALIP steers, with the same reach.
 */
export const FEATURE_MASK_DEFAULTS = {
  site: 'residual' as TokenScaleSite,
  layers: (v: VisionConfig): number[] => defaultFalipParams(v).layers,
} as const;

/**
 * The feature mask of one box as a per-token scale [T]: 1 on CLS and on the region's tokens, 0 on every
 * other patch. CLS is kept because it is the token that becomes the embedding.
 */
export function regionTokenScale(region: TokenRegion, grid: number): Float32Array {
  const scale = new Float32Array(grid * grid + 1);
  scale[0] = 1;
  for (const t of regionTokens(region, grid)) scale[t] = 1;
  return scale;
}
