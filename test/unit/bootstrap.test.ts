import { describe, expect, it } from 'vitest';
import { bootstrapCI, pairedBootstrapDiff } from '../../src/report/bootstrap.js';

/** A fixed pattern with exactly `k` of `n` true, spread out (independent of the bootstrap's generator). */
function pattern(n: number, k: number): boolean[] {
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 1) * k) / n) > Math.floor((i * k) / n));
}

describe('bootstrapCI', () => {
  it('is deterministic for a seed and changes with the seed', () => {
    // Continuous values, since accuracies on 200 items sit on a 0.5-point lattice where two seeds
    // easily land on the same percentiles.
    const values = Array.from({ length: 200 }, (_, i) => (i * Math.SQRT2) % 1);
    expect(bootstrapCI(values, { seed: 7 })).toEqual(bootstrapCI(values, { seed: 7 }));
    expect(bootstrapCI(values, { seed: 7 })).not.toEqual(bootstrapCI(values, { seed: 8 }));
  });

  it('reports the accuracy in percent with an interval around it', () => {
    const values = pattern(200, 130);
    expect(values.filter(Boolean)).toHaveLength(130);
    const { mean, lo, hi } = bootstrapCI(values);
    expect(mean).toBeCloseTo(65, 10);
    expect(lo).toBeLessThan(mean);
    expect(hi).toBeGreaterThan(mean);
  });

  it('gives a zero-width interval when every item is correct', () => {
    expect(bootstrapCI(Array(50).fill(true))).toEqual({ mean: 100, lo: 100, hi: 100 });
  });

  it('takes numbers as they are', () => {
    const { mean, lo, hi } = bootstrapCI([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(lo).toBeGreaterThanOrEqual(1);
    expect(hi).toBeLessThanOrEqual(4);
  });

  it('matches the normal approximation 1.96·sqrt(p(1−p)/n) for a proportion', () => {
    const n = 400;
    const { lo, hi } = bootstrapCI(pattern(n, 200), { iterations: 4000 });
    const expectedHalfWidth = 1.96 * Math.sqrt((0.5 * 0.5) / n) * 100; // 4.9 points
    expect((hi - lo) / 2).toBeGreaterThan(expectedHalfWidth * 0.9);
    expect((hi - lo) / 2).toBeLessThan(expectedHalfWidth * 1.1);
  });

  it('shrinks roughly like 1/sqrt(n)', () => {
    const width = (n: number): number => {
      const { lo, hi } = bootstrapCI(pattern(n, n * 0.3), { iterations: 3000 });
      return hi - lo;
    };
    const ratio = width(100) / width(1600); // sqrt(1600/100) = 4
    expect(ratio).toBeGreaterThan(3.4);
    expect(ratio).toBeLessThan(4.6);
  });

  it('narrows with a lower level', () => {
    const values = pattern(300, 100);
    const wide = bootstrapCI(values, { level: 0.99 });
    const narrow = bootstrapCI(values, { level: 0.8 });
    expect(narrow.hi - narrow.lo).toBeLessThan(wide.hi - wide.lo);
  });
});

describe('pairedBootstrapDiff', () => {
  it('is exactly zero with a [0, 0] interval for identical vectors', () => {
    const a = pattern(120, 70);
    expect(pairedBootstrapDiff(a, [...a])).toEqual({ diff: 0, lo: 0, hi: 0 });
  });

  it('equals the known difference when b loses k of a’s correct items', () => {
    const n = 250;
    const k = 20;
    const a = pattern(n, 160);
    const b = [...a];
    let flipped = 0;
    for (let i = 0; i < n && flipped < k; i++) {
      if (b[i]) {
        b[i] = false;
        flipped++;
      }
    }
    const { diff, lo, hi } = pairedBootstrapDiff(a, b, { seed: 3 });
    expect(diff).toBeCloseTo((100 * k) / n, 10); // 8 points
    expect(lo).toBeGreaterThan(0); // every discordant item favours a
    expect(lo).toBeLessThan(diff);
    expect(hi).toBeGreaterThan(diff);
    const reversed = pairedBootstrapDiff(b, a, { seed: 3 });
    expect(reversed.diff).toBeCloseTo(-diff, 10);
  });

  it('is tighter than an unpaired interval when the methods agree on most items', () => {
    const a = pattern(300, 150);
    const b = a.map((v, i) => (i % 30 === 0 ? !v : v));
    const paired = pairedBootstrapDiff(a, b);
    const single = bootstrapCI(a);
    expect(paired.hi - paired.lo).toBeLessThan((single.hi - single.lo) / 2);
  });

  it('rejects vectors of different lengths', () => {
    expect(() => pairedBootstrapDiff([true], [true, false])).toThrow(/equal lengths/);
  });
});
