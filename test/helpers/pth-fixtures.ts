import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { PthFile, StoredTensor } from '../../src/model/learned-prompts/pth-file.js';
import { TensorRef } from '../../src/model/learned-prompts/torch-unpickler.js';
import { FIXTURES } from './fixtures.js';

/** test/fixtures/pth/: checkpoints written by torch.save (see make-fixtures.py there). */
export const PTH_FIXTURES = path.join(FIXTURES, 'pth');

export function pthFixture(name: string): string {
  return path.join(PTH_FIXTURES, name);
}

/** What make-fixtures.py computed in float64 from each saved tensor. */
export interface TensorSummary {
  dtype: string;
  shape: number[];
  sum: number;
  wsum: number;
  /** The first values in row-major order (non-finite ones as 'inf', '-inf', 'nan'). */
  head: Array<number | boolean | string>;
}

export interface FixtureReference {
  tensors: Record<string, TensorSummary>;
  epoch?: number;
  vision?: Record<string, TensorSummary>;
}

export const REFERENCE: Record<string, FixtureReference> = JSON.parse(
  readFileSync(path.join(PTH_FIXTURES, 'reference.json'), 'utf8'),
);

/** The state dict's tensors (Dassl's `state_dict`, or the top-level dict of a bare save), by name. */
export function stateTensors(pth: PthFile): Map<string, TensorRef> {
  const root = pth.root as Map<unknown, unknown>;
  const dict = (root.get('state_dict') ?? root) as Map<unknown, unknown>;
  const out = new Map<string, TensorRef>();
  for (const [k, v] of dict) if (v instanceof TensorRef) out.set(k as string, v);
  return out;
}

/**
 * `values` against the reference: the head exactly; the sum and the index-weighted sum (weights
 * 1 + i mod 97, as the script computes them) to float64 rounding; non-finite values left out of both.
 * float64 tensors are read as float32, so theirs are compared at float32 precision.
 */
export function expectMatchesSummary(
  values: ArrayLike<number | bigint>,
  shape: readonly number[],
  ref: TensorSummary,
  what: string,
): void {
  expect(shape, what).toEqual(ref.shape);
  const n = values.length;
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const x = Number(values[i]);
    if (!Number.isFinite(x)) continue;
    sum += x;
    wsum += x * ((i % 97) + 1);
  }
  const tolerance = ref.dtype === 'float64' ? 1e-7 : 1e-9;
  const close = (a: number, b: number, label: string): void => {
    expect(Math.abs(a - b), `${what} ${label}: ${a} vs ${b}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(b)));
  };
  close(sum, ref.sum, 'sum');
  close(wsum, ref.wsum, 'weighted sum');
  const head = Array.from({ length: Math.min(n, ref.head.length) }, (_, i) => {
    const x = Number(values[i]);
    return Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x;
  });
  const asRead = (h: number | boolean | string): number | string =>
    typeof h === 'boolean' ? Number(h) : typeof h === 'number' && ref.dtype === 'float64' ? Math.fround(h) : h;
  expect(head, `${what} head`).toEqual(ref.head.map(asRead));
}

export function expectTensorMatches(t: StoredTensor, ref: TensorSummary, what: string): void {
  expect(t.dtype, `${what} dtype`).toBe(ref.dtype);
  expectMatchesSummary(t.data, t.shape, ref, what);
}
