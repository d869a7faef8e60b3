import type { VisionConfig } from '../model/clip-config.js';
import type { MaskForm } from '../prompts/falip-mask.js';
import { defaultFalipParams, type FalipParams } from '../prompts/falip.js';
import { parseLayers } from '../prompts/layer-spec.js';
import { parseNumber } from './parse.js';

export interface FalipFlags {
  alpha: string;
  sigma: string;
  layers?: string;
  form: string;
  heads?: string;
}

/** --alpha/--sigma/--layers/--form/--heads → FalipParams (defaults: the paper's). */
export function falipParamsFromFlags(f: FalipFlags, v: VisionConfig): FalipParams {
  return {
    ...defaultFalipParams(v),
    alpha: parseNumber('--alpha', f.alpha),
    sigma: parseNumber('--sigma', f.sigma, (n) => n > 0, 'a positive number'),
    form: f.form as MaskForm,
    ...(f.layers !== undefined && { layers: parseLayers(f.layers, v.numLayers) }),
    ...(f.heads !== undefined && { heads: parseLayers(f.heads, v.numHeads) }),
  };
}
