import type { ClsCapture } from './encoder.js';

/** Vision-tower sizes that lay out a capture: layers, heads, width. */
export interface CaptureDims {
  L: number;
  H: number;
  D: number;
}

/**
 * Unleash (paper Eq. 5–6) as a post-hoc recomposition of the prompted image's CLS
 * residual: in `layers` (0-based) each head's contribution G'_h is replaced by G_h + w_h·(G'_h − G_h),
 * so the new residual is prompted.clsResidual + Σ_l Σ_h (w_h − 1)(G'_h − G_h). G comes from the
 * original image, G' from the prompted (RedCircle) one. ln_post + projection of the result is the embedding.
 *
 * The paper leaves three choices open; ours:
 * - W_O per head: yes. G_h is taken after the head's slice of the out-projection (cls_head_out), which
 *   makes the decomposition exact (the out-proj bias is common to G and G' and cancels).
 * - ln_post and the projection are applied after the recomposition, as for any CLS residual.
 * - The edits do not propagate: later layers saw the unedited stream, as the substitution into
 *   Eq. 5 implies.
 *
 * @param headWeights w_h per head, or one weight for every head (2 = "2G' − G", 1 = no change).
 * @returns float32 [D]; the sum is accumulated in float64.
 */
export function unleashResidual(
  original: ClsCapture,
  prompted: ClsCapture,
  layers: number[],
  headWeights: readonly number[] | number,
  dims: CaptureDims,
): Float32Array {
  const { L, H, D } = dims;
  const weights = typeof headWeights === 'number' ? Array<number>(H).fill(headWeights) : headWeights;
  if (weights.length !== H) throw new RangeError(`unleash: ${weights.length} head weights for ${H} heads`);
  for (const c of [original, prompted]) {
    if (c.clsHeadOut.length !== L * H * D || c.clsResidual.length !== D)
      throw new RangeError('unleash: capture does not match the model dimensions');
  }
  const cls = Float64Array.from(prompted.clsResidual);
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= L) throw new RangeError(`unleash: layer ${l} is outside 0..${L - 1}`);
    for (let h = 0; h < H; h++) {
      const extra = weights[h]! - 1;
      if (extra === 0) continue;
      const offset = (l * H + h) * D;
      for (let d = 0; d < D; d++)
        cls[d]! += extra * (prompted.clsHeadOut[offset + d]! - original.clsHeadOut[offset + d]!);
    }
  }
  return Float32Array.from(cls);
}
