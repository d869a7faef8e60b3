/**
 * An independent float reference of the extended-box Gaussian for the tests: the same three-pass
 * kernel as the Pillow-exact blur in src/image/gaussian-blur.ts, but in float (passes in float32, sums
 * in float64, one rounding at the end), so that its variance is exactly σ² and a blurred step can be
 * compared with the Gaussian's CDF without 8-bit rounding in between.
 */
import type { RgbImage } from '../../src/image/rgb-image.js';
import { BOX_PASSES } from '../../src/image/gaussian-blur.js';

/** An extended box: integer radius l, fractional edge weight a ∈ [0, 1), normalised by 1 / (2l+1+2a). */
export interface ExtendedBox {
  l: number;
  a: number;
}

/** The extended box whose variance is exactly `variance` (≥ 0), derived above. */
export function extendedBoxForVariance(variance: number): ExtendedBox {
  if (!(variance >= 0) || !Number.isFinite(variance))
    throw new RangeError(`box variance must be finite and ≥ 0, got ${variance}`);
  let l = Math.floor((Math.sqrt(12 * variance + 1) - 1) / 2);
  // Guard the floor against rounding at the exact boundaries l(l+1)/3 = variance.
  if (((l + 1) * (l + 2)) / 3 <= variance) l += 1;
  if (l > 0 && (l * (l + 1)) / 3 > variance) l -= 1;
  const a = ((2 * l + 1) * (3 * variance - l * (l + 1))) / (6 * ((l + 1) * (l + 1) - variance));
  return { l, a };
}

/** The variance of an extended box (for tests and documentation). */
export function extendedBoxVariance({ l, a }: ExtendedBox): number {
  return ((l * (l + 1) * (2 * l + 1)) / 3 + 2 * a * (l + 1) * (l + 1)) / (2 * l + 1 + 2 * a);
}

function checkSigma(sigma: number): void {
  if (!(sigma >= 0) || !Number.isFinite(sigma))
    throw new RangeError(`Gaussian blur σ must be finite and ≥ 0, got ${sigma}`);
}

const clamp = (i: number, last: number): number => (i < 0 ? 0 : Math.min(i, last));

/**
 * One extended-box pass along a line of `n` samples, where each sample is a vector of `vec` contiguous
 * floats starting at `offset + i·vec` (`vec` = channels for a row; = row length when the "samples" are
 * whole rows, i.e. a vertical pass done row by row, which keeps memory access sequential).
 */
function boxPass(
  src: Float32Array,
  dst: Float32Array,
  offset: number,
  n: number,
  vec: number,
  box: ExtendedBox,
  acc: Float64Array,
): void {
  const { l, a } = box;
  const norm = 1 / (2 * l + 1 + 2 * a);
  const last = n - 1;
  // acc = Σ_{k=-l..l} src[clamp(k)]: l copies of sample 0, samples 0..min(l, last), the rest of sample last.
  const first = offset;
  const lastOff = offset + last * vec;
  const inside = Math.min(l, last);
  const beyond = l - inside;
  for (let j = 0; j < vec; j++) acc[j] = l * src[first + j]! + beyond * src[lastOff + j]!;
  for (let k = 0; k <= inside; k++) {
    const o = offset + k * vec;
    for (let j = 0; j < vec; j++) acc[j]! += src[o + j]!;
  }
  for (let i = 0; i < n; i++) {
    const out = offset + i * vec;
    const farLo = offset + clamp(i - l - 1, last) * vec; // weight a, the window's left fractional tap
    const farHi = offset + clamp(i + l + 1, last) * vec; // weight a now, fully inside the next window
    const lo = offset + clamp(i - l, last) * vec; // leaves the window after this sample
    for (let j = 0; j < vec; j++) {
      const hi = src[farHi + j]!;
      const s = acc[j]!;
      dst[out + j] = (s + a * (src[farLo + j]! + hi)) * norm;
      acc[j] = s + hi - src[lo + j]!;
    }
  }
}

/**
 * The float core: blurs an interleaved `width`×`height`×`channels` float image (values in any range)
 * with per-axis variance σ², edge-replicated. Returns a new array; the input is not modified.
 */
export function gaussianBlurFloat(
  data: Float32Array,
  width: number,
  height: number,
  channels: number,
  sigma: number,
): Float32Array {
  checkSigma(sigma);
  const rowLen = width * channels;
  if (data.length !== rowLen * height) throw new RangeError(`expected ${rowLen * height} floats, got ${data.length}`);
  let src = new Float32Array(data);
  if (sigma === 0 || data.length === 0) return src;
  const box = extendedBoxForVariance((sigma * sigma) / BOX_PASSES);
  let dst = new Float32Array(data.length);
  const acc = new Float64Array(Math.max(rowLen, channels));
  // Horizontal passes, row by row.
  for (let p = 0; p < BOX_PASSES; p++) {
    for (let y = 0; y < height; y++) boxPass(src, dst, y * rowLen, width, channels, box, acc);
    [src, dst] = [dst, src];
  }
  // Vertical passes: the samples are whole rows.
  for (let p = 0; p < BOX_PASSES; p++) {
    boxPass(src, dst, 0, height, rowLen, box, acc);
    [src, dst] = [dst, src];
  }
  return src;
}

/**
 * Pillow-equivalent `ImageFilter.GaussianBlur(radius=sigma)` of an 8-bit RGB image (radius is σ):
 * three extended-box passes per axis with total per-axis variance exactly σ², edge replication,
 * rounded once to the nearest 8-bit value. Channels are blurred independently. Returns a new image.
 */
export function gaussianBlur(img: RgbImage, sigma: number): RgbImage {
  const { width, height } = img;
  if (img.data.length !== width * height * 3)
    throw new RangeError(`expected ${width * height * 3} bytes, got ${img.data.length}`);
  const blurred = gaussianBlurFloat(Float32Array.from(img.data), width, height, 3, sigma);
  const out = new Uint8Array(blurred.length);
  for (let i = 0; i < blurred.length; i++) {
    const v = (blurred[i]! + 0.5) | 0; // values are ≥ −ε, so truncation of v + ½ rounds half up
    out[i] = Math.min(v, 255);
  }
  return { width, height, data: out };
}
