import type { TokenRegion } from '../image/token-grid.js';

/**
 * Where the foveal values go in the T×T attention bias (paper Eq. 3, Fig. 8):
 * 'a' the CLS query's row (the reference code), 'b' every query row, 'c' the diagonal.
 */
export const MASK_FORMS = ['a', 'b', 'c'] as const;
export type MaskForm = (typeof MASK_FORMS)[number];

export interface FoveaSpec {
  form: MaskForm;
  /** Peak bias added to the attention logits (the reference's `v`, default 0.2). */
  alpha: number;
  /** Gaussian width in tokens (default 100, which makes the shape an inverted paraboloid). */
  sigma: number;
}

/** The reference's ε, added to both numerator and denominator of the min–max normalization. */
const EPS = 0.000001;

/**
 * FALIP's released `generate_gaussian_mask_region`: an h×w (row-major) Gaussian
 * centred on the region, min–max normalized and scaled to peak alpha. Reproduces numpy 1.21's float
 * semantics of `(mask - min + eps) / (max + eps - min) * v` on a float32 `mask`: the numerator is
 * float32, the scalar denominator float64 (scalar–scalar arithmetic) that is then cast to float32
 * for the array division, and the ×v happens in float32.
 */
export function gaussianRegionValues(h: number, w: number, alpha: number, sigma: number): Float32Array {
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const mask = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const d = Math.sqrt((j - cx) ** 2 + (i - cy) ** 2);
      mask[i * w + j] = Math.exp(-0.5 * (d / sigma) ** 2);
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of mask) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const eps32 = Math.fround(EPS);
  const denominator32 = Math.fround(max + EPS - min);
  const alpha32 = Math.fround(alpha);
  const out = new Float32Array(h * w);
  for (let k = 0; k < out.length; k++) {
    const numerator = Math.fround(Math.fround(mask[k]! - min) + eps32);
    out[k] = Math.fround(numerator / denominator32) * alpha32;
  }
  return out;
}

/** The foveal bias of one box as a T×T matrix (T = grid² + 1), row = query token, column = key token. */
export function foveaBias(region: TokenRegion, grid: number, spec: FoveaSpec, onlyTokens?: Uint8Array): Float32Array {
  const tokens = grid * grid + 1;
  const out = new Float32Array(tokens * tokens);
  writeFoveaBias(region, grid, spec, out, 0, onlyTokens);
  return out;
}

/**
 * Writes the T×T bias of one box into `out` at `offset` (one [1,T,T] slot of a [B,1,T,T] batch),
 * zeroing the slot first so buffers can be reused across batches. With `onlyTokens` (grid², 1 = keep)
 * the Gaussian still spans the region's rectangle but only the kept tokens get their values.
 */
export function writeFoveaBias(
  region: TokenRegion,
  grid: number,
  spec: FoveaSpec,
  out: Float32Array,
  offset: number,
  onlyTokens?: Uint8Array,
): void {
  const tokens = grid * grid + 1;
  if (offset < 0 || offset + tokens * tokens > out.length) {
    throw new RangeError(
      `writeFoveaBias: ${tokens}×${tokens} at offset ${offset} does not fit in ${out.length} floats`,
    );
  }
  out.fill(0, offset, offset + tokens * tokens);
  const h = region.r1 - region.r0 + 1;
  const w = region.c1 - region.c0 + 1;
  const values = gaussianRegionValues(h, w, spec.alpha, spec.sigma);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const key = 1 + grid * (region.r0 + i) + region.c0 + j;
      if (onlyTokens && !onlyTokens[key - 1]) continue;
      const v = values[i * w + j]!;
      switch (spec.form) {
        case 'a':
          out[offset + key] = v;
          break;
        case 'b':
          // The paper says "all rows"; that includes the CLS query row, so form b ⊇ form a.
          for (let q = 0; q < tokens; q++) out[offset + q * tokens + key] = v;
          break;
        case 'c':
          out[offset + key * tokens + key] = v;
          break;
      }
    }
  }
}
