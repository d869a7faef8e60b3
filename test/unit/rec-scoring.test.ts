import { describe, expect, it } from 'vitest';
import type { BoxXYWH } from '../../src/image/box.js';
import { sampleNegatives, type BankCaption } from '../../src/tasks/rec/negatives.js';
import { boxLogit, candidateIndices, isCorrect } from '../../src/tasks/rec/rec-scoring.js';
import { argmax } from '../../src/tasks/shared/scores.js';
import { seededSubset } from '../../src/tasks/shared/sample-subset.js';

/** Unit vector, in float64 (the test's own arithmetic). */
function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}
function cos(a: number[], b: number[]): number {
  return a.reduce((s, x, i) => s + x * b[i]!, 0);
}
const f32 = (v: number[]): Float32Array => Float32Array.from(v);

describe('candidateIndices', () => {
  it('drops zero-area boxes (area/(W·H) > 0 strictly)', () => {
    const boxes: BoxXYWH[] = [
      [0, 0, 0, 5], // zero width
      [1, 1, 3, 3],
      [2, 2, 4, 0], // zero height
      [5, 5, 2, 1],
      [3, 3, -2, 4], // negative width: no area
    ];
    expect(candidateIndices(boxes, 10, 10)).toEqual([1, 3]);
  });

  it('lets every box compete when all are zero-area', () => {
    const boxes: BoxXYWH[] = [
      [0, 0, 0, 5],
      [2, 2, 4, 0],
      [1, 1, 0, 0],
    ];
    expect(candidateIndices(boxes, 10, 10)).toEqual([0, 1, 2]);
  });
});

describe('argmax over the candidates', () => {
  it('breaks ties towards the first candidate', () => {
    expect(argmax([1, 7, 7, 3], [0, 1, 2, 3])).toBe(1);
    expect(argmax([2, 2, 2], [0, 1, 2])).toBe(0);
  });

  it('only considers candidates, even when a non-candidate scores higher', () => {
    // Box 0 has the highest raw score but is not a candidate (e.g. zero area).
    expect(argmax([99, 1, 5, 4], [1, 2, 3])).toBe(2);
  });

  it('ties among candidates go to the first candidate, not to index 0', () => {
    expect(argmax([9, 4, 4], [1, 2])).toBe(1);
  });
});

describe('isCorrect', () => {
  it('IoU exactly 0.5 is wrong (strictly greater is needed)', () => {
    // inter = 1, union = 2 + 1 − 1 = 2 → IoU = 0.5 exactly.
    expect(isCorrect([0, 0, 2, 1], [[0, 0, 1, 1]])).toBe(false);
    expect(isCorrect([0, 0, 1, 1], [[0, 0, 2, 1]])).toBe(false);
    // Just above 0.5: inter = 1, union = 1.9 → 0.526.
    expect(isCorrect([0, 0, 1.9, 1], [[0, 0, 1, 1]])).toBe(true);
  });

  it('counts a different (non-target) box overlapping the target with IoU > 0.5 as correct', () => {
    // inter = 9·10 = 90, union = 100 + 100 − 90 = 110 → IoU 0.818.
    const target: BoxXYWH = [0, 0, 10, 10];
    expect(isCorrect([1, 0, 10, 10], [target])).toBe(true);
    // inter = 5·10 = 50, union = 150 → 1/3: wrong.
    expect(isCorrect([5, 0, 10, 10], [target])).toBe(false);
  });

  it('any gold target counts: a prediction matching the second of two targets is correct', () => {
    const targets: BoxXYWH[] = [
      [100, 100, 10, 10],
      [0, 0, 10, 10],
    ];
    expect(isCorrect([0, 0, 10, 9], targets)).toBe(true); // IoU 0.9 with the second
    expect(isCorrect([101, 100, 10, 10], targets)).toBe(true); // IoU 0.818 with the first
    expect(isCorrect([50, 50, 10, 10], targets)).toBe(false);
    expect(isCorrect([0, 0, 10, 9], [])).toBe(false);
  });
});

describe('boxLogit', () => {
  const image = unit([1, 2, 0, 1, -0.5]);
  const caption = unit([0, 1, 1, 0, 0.3]);
  const negatives = [
    unit([1, 0, 0, 0, 0]),
    unit([0, 0, 1, -1, 2]),
    unit([0.2, 0.9, -0.4, 0.1, 0]),
    unit([-1, 1, 1, 1, 1]),
  ];

  it('without negatives is 100·cos(image, caption)', () => {
    const expected = 100 * cos(image, caption);
    expect(boxLogit(f32(image), f32(caption))).toBeCloseTo(expected, 4);
  });

  it('with the mean negative is 100·cos − mean over q of 100·cos(image, neg_q)', () => {
    const meanNeg = image.map((_, i) => negatives.reduce((s, n) => s + n[i]!, 0) / negatives.length);
    // Explicit: one logit per negative, then their mean.
    const perNeg = negatives.map((n) => 100 * cos(image, n));
    const expected = 100 * cos(image, caption) - perNeg.reduce((s, x) => s + x, 0) / perNeg.length;
    const got = boxLogit(f32(image), f32(caption), f32(meanNeg));
    expect(got).toBeCloseTo(expected, 4);
    // The subtraction actually changed the value (guards against an ignored argument).
    expect(Math.abs(got - 100 * cos(image, caption))).toBeGreaterThan(1);
  });

  it("an ensemble is the per-box sum of the methods' logits, which can pick a box neither method picks alone", () => {
    const txt = unit([1, 0, 0]);
    // Per method, features of three boxes: cosines with txt are the first components.
    const methodA = [unit([0.9, 0.1, 0]), unit([0.6, 0.8, 0]), unit([0.2, 0.98, 0])];
    const methodB = [unit([0.1, 0.99, 0]), unit([0.6, 0, 0.8]), unit([0.85, 0.5, 0])];
    const logitsA = methodA.map((f) => boxLogit(f32(f), f32(txt)));
    const logitsB = methodB.map((f) => boxLogit(f32(f), f32(txt)));
    const sum = logitsA.map((a, i) => a + logitsB[i]!);
    // Hand values: A ≈ [99.4, 60, 20.0], B ≈ [10.0, 60, 86.2]; sums ≈ [109.4, 120, 106.2].
    const expectedSums = [0, 1, 2].map((i) => 100 * (cos(methodA[i]!, txt) + cos(methodB[i]!, txt)));
    sum.forEach((s, i) => {
      expect(s).toBeCloseTo(expectedSums[i]!, 3);
    });
    expect(argmax(logitsA, [0, 1, 2])).toBe(0);
    expect(argmax(logitsB, [0, 1, 2])).toBe(2);
    expect(argmax(sum, [0, 1, 2])).toBe(1);
  });
});

describe('sampleNegatives', () => {
  const bank: BankCaption[] = Array.from({ length: 60 }, (_, i) => ({ text: `caption ${i}`, image: `img${i % 6}` }));
  const spec = { count: 10, from: 'split' as const, seed: 7 };

  it('is deterministic for (seed, sentence id), and draws `count` distinct captions of the bank', () => {
    const a = sampleNegatives(bank, 's-1', 'img0', spec);
    const b = sampleNegatives(bank, 's-1', 'img0', { ...spec });
    expect(a).toHaveLength(10);
    expect(new Set(a).size).toBe(10);
    const texts = new Set(bank.map((c) => c.text));
    for (const t of a) expect(texts.has(t)).toBe(true);
    expect(b).toEqual(a);
    // Independent of the order of other calls.
    sampleNegatives(bank, 's-2', 'img1', spec);
    expect(sampleNegatives(bank, 's-1', 'img0', spec)).toEqual(a);
  });

  it('a different seed, or a different sentence id, changes the sample', () => {
    const a = sampleNegatives(bank, 's-1', 'img0', spec);
    expect(sampleNegatives(bank, 's-1', 'img0', { ...spec, seed: 8 })).not.toEqual(a);
    expect(sampleNegatives(bank, 's-2', 'img0', spec)).not.toEqual(a);
  });

  it("'other-images' never returns a caption of the sentence's own image", () => {
    const own = new Set(bank.filter((c) => c.image === 'img3').map((c) => c.text));
    expect(own.size).toBe(10);
    for (let k = 0; k < 30; k++) {
      const got = sampleNegatives(bank, `s-${k}`, 'img3', { count: 25, from: 'other-images', seed: k });
      expect(got).toHaveLength(25);
      expect(new Set(got).size).toBe(25);
      for (const t of got) expect(own.has(t)).toBe(false);
    }
    // Asking for more than the other images have returns all 50 of them.
    const all = sampleNegatives(bank, 's-x', 'img3', { count: 500, from: 'other-images', seed: 0 });
    expect(new Set(all)).toEqual(new Set(bank.filter((c) => c.image !== 'img3').map((c) => c.text)));
  });

  it("'split' may draw captions of the same image (as FGVP) and caps count at the bank size", () => {
    const all = sampleNegatives(bank, 's-1', 'img0', { count: 500, from: 'split', seed: 0 });
    expect(all).toHaveLength(60);
    expect(new Set(all)).toEqual(new Set(bank.map((c) => c.text)));
  });

  it('is roughly uniform over the bank (each caption drawn ≈ count/size of the time)', () => {
    const hits = new Map<string, number>();
    const draws = 600;
    for (let k = 0; k < draws; k++)
      for (const t of sampleNegatives(bank, `sent-${k}`, 'img0', spec)) hits.set(t, (hits.get(t) ?? 0) + 1);
    // Expected 600·10/60 = 100 per caption; binomial sd ≈ 9.1, so ±45 is a ~5σ band.
    expect(hits.size).toBe(60);
    for (const n of hits.values()) {
      expect(n).toBeGreaterThan(55);
      expect(n).toBeLessThan(145);
    }
  });
});

describe('seededSubset', () => {
  const items = Array.from({ length: 100 }, (_, i) => i * 3);

  it('has the requested size, distinct items of the input, in their original order', () => {
    const s = seededSubset(items, 20, 1);
    expect(s).toHaveLength(20);
    expect(new Set(s).size).toBe(20);
    for (const x of s) expect(items).toContain(x);
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThan(s[i - 1]!);
  });

  it('is deterministic for a seed and is not the first N', () => {
    const s = seededSubset(items, 20, 1);
    expect(seededSubset(items, 20, 1)).toEqual(s);
    expect(s).not.toEqual(items.slice(0, 20));
    // Spread over the whole list, not a block: some item from the last half.
    expect(s.some((x) => x >= items[50]!)).toBe(true);
  });

  it('different seeds give different subsets', () => {
    expect(seededSubset(items, 20, 2)).not.toEqual(seededSubset(items, 20, 1));
  });

  it('returns everything (a copy) when n is undefined or ≥ the length', () => {
    expect(seededSubset(items, undefined, 1)).toEqual(items);
    expect(seededSubset(items, 100, 1)).toEqual(items);
    expect(seededSubset(items, 500, 1)).toEqual(items);
    expect(seededSubset(items, 100, 1)).not.toBe(items);
  });
});
