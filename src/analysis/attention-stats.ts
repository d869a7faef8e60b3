import type { ClsCapture } from '../encoder/encoder.js';
import { visionTokens, type VisionConfig } from '../model/clip-config.js';

/**
 * Statistics of the CLS query's attention (seed paper 003's attention entropy, the share of attention
 * inside a region) and of each head's CLS contribution (FALIP §4.4), from one capture.
 */

/** Shannon entropy in nats of a probability row (zeros contribute nothing). */
export function entropy(p: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) {
    const x = p[i]!;
    if (x > 0) h -= x * Math.log(x);
  }
  return h;
}

/** Σ of a row over the given token indices: the attention mass on them. */
export function massOn(p: ArrayLike<number>, tokens: readonly number[]): number {
  let s = 0;
  for (const t of tokens) s += p[t]!;
  return s;
}

/** The CLS query's attention row [T] of layer l, head h (0-based). */
export function clsRow(c: ClsCapture, v: VisionConfig, l: number, h: number): Float32Array {
  const T = visionTokens(v);
  const off = (l * v.numHeads + h) * T;
  return c.clsAttn.subarray(off, off + T);
}

/** The mean over `heads` of layer l's CLS rows [T]: still a probability row. */
export function meanClsRow(c: ClsCapture, v: VisionConfig, l: number, heads: readonly number[]): Float64Array {
  const mean = new Float64Array(visionTokens(v));
  for (const h of heads) {
    const row = clsRow(c, v, l, h);
    for (let t = 0; t < row.length; t++) mean[t]! += row[t]! / heads.length;
  }
  return mean;
}

/** `f` of each (layer, head)'s CLS row, row-major [L·H]. */
function perHeadRow(c: ClsCapture, v: VisionConfig, f: (row: Float32Array) => number): Float64Array {
  const out = new Float64Array(v.numLayers * v.numHeads);
  for (let l = 0; l < v.numLayers; l++)
    for (let h = 0; h < v.numHeads; h++) out[l * v.numHeads + h] = f(clsRow(c, v, l, h));
  return out;
}

/** Per (layer, head) [L·H]: the entropy of the CLS row (a capture's own, whatever the box). */
export function clsRowEntropies(c: ClsCapture, v: VisionConfig): Float64Array {
  return perHeadRow(c, v, entropy);
}

/** Per (layer, head) [L·H]: the CLS row's mass on `tokens`. */
export function clsRowMasses(c: ClsCapture, v: VisionConfig, tokens: readonly number[]): Float64Array {
  return perHeadRow(c, v, (row) => massOn(row, tokens));
}

/** Per (layer, head), row-major [L·H]: the entropy of the CLS row and its mass on `tokens`. */
export function clsRowStats(
  c: ClsCapture,
  v: VisionConfig,
  tokens: readonly number[],
): { entropy: Float64Array; inside: Float64Array } {
  return { entropy: clsRowEntropies(c, v), inside: clsRowMasses(c, v, tokens) };
}

/** ‖G′ₕ − Gₕ‖ per (layer, head) [L·H]: how far a prompt moves each head's CLS contribution (Fig. 6 right). */
export function headChanges(original: ClsCapture, prompted: ClsCapture, v: VisionConfig): Float64Array {
  const D = v.hiddenSize;
  const out = new Float64Array(v.numLayers * v.numHeads);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += (prompted.clsHeadOut[i * D + d]! - original.clsHeadOut[i * D + d]!) ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** ‖Gₕ‖ per (layer, head) [L·H]: the scale the changes compare with. */
export function headNorms(c: ClsCapture, v: VisionConfig): Float64Array {
  const D = v.hiddenSize;
  const out = new Float64Array(v.numLayers * v.numHeads);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += c.clsHeadOut[i * D + d]! ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}
