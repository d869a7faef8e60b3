import type { Tensor } from '../tensor.js';

/**
 * The weights the int8 precision quantizes: every transformer block's Linear layers (fused q/k/v,
 * attention out-projection, fc1, fc2), stored pre-transposed [in, out] (tower-weights.ts). The final
 * projections stay float32: they multiply one row per image or text, so an integer kernel saves
 * nothing there and would only add rounding to the embedding itself.
 */
const QUANTIZED_WEIGHT = /\.(qkv|out|fc1|fc2)\.w$/;

export function isQuantizedWeight(key: string): boolean {
  return QUANTIZED_WEIGHT.test(key);
}

/** Key of the per-column scales [out] stored beside the int8 weight `key`. */
export function scaleKey(key: string): string {
  return `${key}.scale`;
}

/** An [in, out] weight as int8 codes with one float32 scale per output column: w ≈ code · scale. */
export interface PerColumnInt8 {
  shape: [number, number];
  codes: Int8Array;
  scales: Float32Array;
}

/**
 * Symmetric per-output-channel quantization (no zero points, codes in −127..127): scale_j = max_i |w_ij| / 127,
 * so each column uses the whole code range and |code·scale − w| ≤ scale/2. −128 is left out so that the
 * range is symmetric. A column whose scale would be 0 in float32 (all zeros, or subnormally small) gets
 * scale 1 and codes 0, which keeps the scale safe to divide by and errs by at most its tiny values.
 */
export function quantizePerColumn(t: Tensor): PerColumnInt8 {
  if (t.shape.length !== 2)
    throw new Error(`per-column int8 quantization needs an [in, out] matrix, got [${t.shape.join(', ')}]`);
  const [rows, cols] = t.shape as [number, number];
  const absMax = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) absMax[c] = Math.max(absMax[c]!, Math.abs(t.data[r * cols + c]!));
  }
  // Rounded to float32 first: the graph multiplies by the stored float32 scale, so the codes must fit it.
  const scales = Float32Array.from(absMax, (m) => Math.fround(m / 127) || 1);
  const codes = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = t.data[r * cols + c]! / scales[c]!;
      // Half away from zero, so that w and −w get opposite codes.
      codes[r * cols + c] = Math.max(-127, Math.min(127, Math.sign(x) * Math.round(Math.abs(x))));
    }
  }
  return { shape: [rows, cols], codes, scales };
}
