import type { ScoreDecomposition } from '../encoder/encoder.js';
import { visionTokens, type VisionConfig } from '../model/clip-config.js';

/**
 * Sums over the terms of a score decomposition (Encoder.decompose): the text-directed map of chosen
 * heads, and what lies outside the heads' value paths.
 */

/** The text-directed map of chosen layers and heads (0-based): Σ over them of each token's term, [T]. */
export function headsMap(
  d: ScoreDecomposition,
  v: VisionConfig,
  layers: readonly number[],
  heads: readonly number[],
): Float64Array {
  const T = visionTokens(v);
  const map = new Float64Array(T);
  for (const l of layers) {
    for (const h of heads) {
      const off = (l * v.numHeads + h) * T;
      for (let t = 0; t < T; t++) map[t]! += d.tokenScores[off + t]!;
    }
  }
  return map;
}

/** Σ of every term outside the heads' value paths: embedding, out-projection biases, MLPs, ln_post's bias. */
export function otherTermsTotal(d: ScoreDecomposition): number {
  let s = d.embedScore + d.lnPostBiasScore;
  for (let l = 0; l < d.mlpScores.length; l++) s += d.mlpScores[l]! + d.outBiasScores[l]!;
  return s;
}
