import type { AttentionBias } from '../encoder/clip-encoder.js';
import { regionTokens, type TokenRegion } from '../image/token-grid.js';
import type { VisionConfig } from '../model/clip-config.js';
import { UserError } from '../util/errors.js';
import { defaultFalipParams } from './falip.js';
import { biasGate } from './layer-spec.js';

export interface PastaParams {
  /** Factor on the unnormalized attention to keys outside the region (PASTA's α); default 0.01. */
  coefficient?: number;
  /** 0-based layers; default FALIP's (the last 4). */
  layers?: number[];
  /** 0-based heads; default all. */
  heads?: number[];
}

export const PASTA_DEFAULT_COEFFICIENT = 0.01;

/**
 * PASTA-style attention steering (paper Table 1) toward a region: every query's unnormalized
 * attention to keys outside the region is multiplied by `coefficient` before renormalization, which is
 * exactly an additive log(coefficient) on those logits. The CLS key counts as inside (it is kept).
 *
 * PASTA steers only heads chosen by profiling them on the task; that profiling is not reproduced, so
 * the heads are a parameter and the default — every head of FALIP's layers — is our choice.
 */
export function pastaAttention(region: TokenRegion, grid: number, v: VisionConfig, params: PastaParams = {}): AttentionBias {
  const coefficient = params.coefficient ?? PASTA_DEFAULT_COEFFICIENT;
  // log(0) = −∞ would become 0·(−∞) = NaN in the ungated layers and heads.
  if (!(coefficient > 0 && Number.isFinite(coefficient))) throw new UserError(`PASTA coefficient ${coefficient}: must be a positive number`);
  const T = grid * grid + 1;
  const logCoefficient = Math.log(coefficient);
  const keyBias = new Float32Array(T).fill(logCoefficient);
  keyBias[0] = 0;
  for (const t of regionTokens(region, grid)) keyBias[t] = 0;
  const bias = new Float32Array(T * T);
  for (let q = 0; q < T; q++) bias.set(keyBias, q * T);
  return { bias, gate: biasGate(params.layers ?? defaultFalipParams(v).layers, v.numLayers, v.numHeads, params.heads) };
}
