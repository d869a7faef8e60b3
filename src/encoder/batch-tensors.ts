import { UserError } from '../util/errors.js';

/** Concatenates equal-length per-request arrays into one batch tensor's data. */
export function stack(parts: Float32Array[]): Float32Array {
  const n = parts[0]!.length;
  const out = new Float32Array(parts.length * n);
  parts.forEach((p, i) => {
    if (p.length !== n) throw new Error(`batch members differ in size (${p.length} vs ${n})`);
    out.set(p, i * n);
  });
  return out;
}

/** Splits a batch output into per-request copies; a NaN means the model (or its input) is broken. */
export function unstack(data: Float32Array, batch: number, what: string): Float32Array[] {
  if (data.some((x) => Number.isNaN(x))) throw new UserError(`${what}: the model produced NaN (check the checkpoint's weights)`);
  const n = data.length / batch;
  return Array.from({ length: batch }, (_, i) => data.slice(i * n, (i + 1) * n));
}
