import { UserError } from '../../util/errors.js';

/**
 * How a graph stores its weights and computes. Graph inputs and outputs stay float32 in every precision,
 * so the encoders feed and read every graph the same way.
 * - fp32: float32 throughout (the default).
 * - fp16: float16 weights and activations; halves weight memory and uses GPU tensor cores.
 * - int8: for CPUs. The Linear layers' weights are int8 (symmetric, one scale per output channel) and their
 *   inputs are quantized at run time, so those matrix products run on integer kernels (VNNI); everything
 *   else (LayerNorm, softmax, activations, attention products, patch conv, embeddings) stays float32.
 */
export const PRECISIONS = ['fp32', 'fp16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

export function parsePrecision(value: string): Precision {
  if (!(PRECISIONS as readonly string[]).includes(value))
    throw new UserError(`--precision ${value}: expected one of ${PRECISIONS.join(', ')}`);
  return value as Precision;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/**
 * IEEE binary16 bits of `x` rounded to float32 first (as the weights are), then to half with
 * round-to-nearest-even: overflow becomes ±inf, tiny values become subnormals or ±0, NaN stays a
 * (quiet) NaN. Node 20 has no Float16Array, hence the bit arithmetic.
 */
export function float16Bits(x: number): number {
  f32[0] = x;
  const bits = f32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0);
  const e = exponent - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: the value in units of 2^-24, from the float's 24-bit significand.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    return sign | roundShift(mantissa | 0x800000, 14 - e);
  }
  // A carry out of the mantissa correctly bumps the exponent, up to inf at the top.
  return sign | ((e << 10) + roundShift(mantissa, 13));
}

/** value >> shift, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

export function toFloat16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = float16Bits(data[i]!);
  return out;
}
