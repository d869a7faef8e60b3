import { describe, expect, it } from 'vitest';
import { foveaBias, gaussianRegionValues, writeFoveaBias, type FoveaSpec } from '../../src/prompts/falip-mask.js';
import { biasGate, formatLayers, parseLayers } from '../../src/prompts/layer-spec.js';
import { regionTokens, type TokenRegion } from '../../src/image/token-grid.js';
import { UserError } from '../../src/util/errors.js';

const GRID = 14;
const T = GRID * GRID + 1;

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThan(tol);
  });
}

/** Plain float64 version of the paper's Eq. 2, independent of the float32 bookkeeping. */
function eq2(h: number, w: number, alpha: number, sigma: number): number[] {
  const r: number[] = [];
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      r.push(Math.exp(-(((i - (h - 1) / 2) ** 2 + (j - (w - 1) / 2) ** 2) / (2 * sigma * sigma))));
  const lo = Math.min(...r);
  const hi = Math.max(...r);
  return r.map((v) => (alpha * (v - lo + 1e-6)) / (hi - lo + 1e-6));
}

describe('gaussianRegionValues', () => {
  it('matches the reference 3×3 values (α 0.2, σ 100)', () => {
    const v = gaussianRegionValues(3, 3, 0.2, 100);
    expectClose(v, [0.002, 0.101, 0.002, 0.101, 0.2, 0.101, 0.002, 0.101, 0.002], 1e-3);
  });

  it('is flat α for regions whose tokens are equidistant from the centre', () => {
    for (const [h, w] of [
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ] as const) {
      expectClose(gaussianRegionValues(h, w, 0.2, 100), Array(h * w).fill(0.2), 1e-6);
    }
  });

  it('gives [0.0039, 0.2, 0.0039] for 1×3', () => {
    expectClose(gaussianRegionValues(1, 3, 0.2, 100), [0.0039, 0.2, 0.0039], 1e-4);
  });

  it('matches the reference 5×7 first row and centre', () => {
    const v = gaussianRegionValues(5, 7, 0.2, 100);
    expectClose(v.slice(0, 4), [0.0003, 0.077, 0.123, 0.138], 1e-3);
    expect(v[2 * 7 + 3]).toBeCloseTo(0.2, 6);
    // Symmetric about both axes.
    expect(v[0]).toBe(v[6]);
    expect(v[0]).toBe(v[4 * 7]);
  });

  it('agrees with a float64 evaluation of Eq. 2 to float32 precision at moderate σ', () => {
    // With σ = 100 the range is ~1e-3, so float32 rounding of R dominates; σ = 3 keeps it well-conditioned.
    expectClose(gaussianRegionValues(4, 6, 0.5, 3), eq2(4, 6, 0.5, 3), 1e-6);
  });

  it('is a genuinely peaked Gaussian at σ = 1', () => {
    const v = gaussianRegionValues(5, 5, 1, 1);
    expect(v[12]).toBeCloseTo(1, 6);
    // Neighbour of the centre: exp(-0.5) ≈ 0.607 before normalization; corners exp(-4) ≈ 0.018 → 0.
    const lo = Math.exp(-4);
    expect(v[11]).toBeCloseTo((Math.exp(-0.5) - lo) / (1 - lo), 5);
    expect(v[0]).toBeCloseTo(1e-6 / (1 - lo), 6);
  });
});

describe('foveaBias', () => {
  const region: TokenRegion = { c0: 2, c1: 6, r0: 1, r1: 11 };
  const tokens = regionTokens(region, GRID);
  const values = gaussianRegionValues(11, 5, 0.2, 100);
  const spec = (form: FoveaSpec['form']): FoveaSpec => ({ form, alpha: 0.2, sigma: 100 });

  it('form a: only the CLS query row, at the region columns, holds Rnorm', () => {
    const m = foveaBias(region, GRID, spec('a'));
    expect(m).toHaveLength(T * T);
    expect(m[0]).toBe(0);
    tokens.forEach((k, n) => {
      expect(m[k]).toBe(values[n]);
    });
    let nonzero = 0;
    m.forEach((v, idx) => {
      if (v !== 0) {
        nonzero++;
        expect(idx).toBeLessThan(T);
      }
    });
    expect(nonzero).toBe(tokens.length);
  });

  it("form b: every query row equals form a's CLS row", () => {
    const a = foveaBias(region, GRID, spec('a'));
    const b = foveaBias(region, GRID, spec('b'));
    const row0 = a.slice(0, T);
    for (let q = 0; q < T; q++) expect(b.slice(q * T, (q + 1) * T)).toEqual(row0);
  });

  it('form c: only the diagonal at region tokens', () => {
    const c = foveaBias(region, GRID, spec('c'));
    const expected = new Float32Array(T * T);
    tokens.forEach((k, n) => {
      expected[k * T + k] = values[n]!;
    });
    expect(c).toEqual(expected);
  });

  it('writeFoveaBias fills one batch slot and clears stale values', () => {
    const batch = new Float32Array(2 * T * T).fill(7);
    writeFoveaBias({ c0: 0, c1: 0, r0: 0, r1: 0 }, GRID, spec('a'), batch, T * T);
    expect(batch[0]).toBe(7); // slot 0 untouched
    expect(batch[T * T + 1]).toBeCloseTo(0.2, 6);
    expect(batch.slice(T * T).filter((v) => v !== 0)).toHaveLength(1);
    expect(() => writeFoveaBias(region, GRID, spec('a'), batch, T * T + 1)).toThrow(RangeError);
  });
});

describe('layer selections', () => {
  it('parses 1-based selections to sorted unique 0-based layers', () => {
    expect(parseLayers('9-12', 12)).toEqual([8, 9, 10, 11]);
    expect(parseLayers('12', 12)).toEqual([11]);
    expect(parseLayers('5-7,1,3,6', 12)).toEqual([0, 2, 4, 5, 6]);
    expect(parseLayers(' 1, 3 ', 12)).toEqual([0, 2]);
    expect(parseLayers('all', 4)).toEqual([0, 1, 2, 3]);
    expect(parseLayers('none', 12)).toEqual([]);
  });

  it('rejects malformed and out-of-range selections naming the text', () => {
    for (const bad of ['BAD CALL', '', '1,,2', '3-', '0', '13', '2-14', '7-5', '1.5', '-1']) {
      expect(() => parseLayers(bad, 12), bad).toThrow(UserError);
      expect(() => parseLayers(bad, 12), bad).toThrow(`'${bad}'`);
    }
  });

  it('formats layers back to the compact 1-based form', () => {
    expect(formatLayers([8, 9, 10, 11])).toBe('9-12');
    expect(formatLayers([6, 5, 0, 2, 4])).toBe('1,3,5-7');
    expect(formatLayers([])).toBe('none');
    for (const spec of ['1-24', '2,4,6-9,24', '20']) expect(formatLayers(parseLayers(spec, 24))).toBe(spec);
  });

  it('builds the [L,H] bias gate', () => {
    const all = biasGate([8, 9, 10, 11], 12, 4);
    expect(Array.from(all.slice(0, 8 * 4))).toEqual(Array(32).fill(0));
    expect(Array.from(all.slice(8 * 4))).toEqual(Array(16).fill(1));
    const someHeads = biasGate([1], 3, 4, [0, 3]);
    expect(Array.from(someHeads)).toEqual([0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
    expect(() => biasGate([12], 12, 4)).toThrow(RangeError);
    expect(() => biasGate([0], 12, 4, [4])).toThrow(RangeError);
  });
});
