import { describe, expect, it } from 'vitest';
import { boxToTokenRegion, regionTokens } from '../../src/image/token-grid.js';
import { validateBox } from '../../src/image/validate-box.js';
import { UserError } from '../../src/util/errors.js';

const S = 224;
const P = 16;
const GRID = 14;

describe('boxToTokenRegion', () => {
  it('maps the reference example (640×480, box 100,50,200,350) to columns 2..6, rows 1..11', () => {
    const region = boxToTokenRegion([100, 50, 200, 350], 640, 480, S, P);
    expect(region).toEqual({ c0: 2, c1: 6, r0: 1, r1: 11 });
    const tokens = regionTokens(region, GRID);
    expect(tokens[0]).toBe(17);
    expect(tokens).toHaveLength(5 * 11);
    // The reference's first-row half-open slice [17, 22), then +14 per row.
    expect(tokens.slice(0, 5)).toEqual([17, 18, 19, 20, 21]);
    expect(tokens.slice(5, 10)).toEqual([31, 32, 33, 34, 35]);
    expect(tokens.at(-1)).toBe(1 + 14 * 11 + 6);
  });

  it('assigns a coordinate exactly on a patch border to the left/upper patch', () => {
    // 224×224 image: pixels are tokens-space already. Box 32..64 × 48..80 touches borders exactly.
    const region = boxToTokenRegion([32, 48, 32, 32], 224, 224, S, P);
    // X0 = 32 → ceil(2)−1 = 1 (the patch left of the border, touched with zero overlap);
    // X1 = 64 → ceil(4)−1 = 3 (the patch right of the border is excluded).
    expect(region).toEqual({ c0: 1, c1: 3, r0: 2, r1: 4 });
  });

  it('gives a zero-size box one token', () => {
    expect(boxToTokenRegion([100, 100, 0, 0], 224, 224, S, P)).toEqual({ c0: 6, c1: 6, r0: 6, r1: 6 });
    expect(boxToTokenRegion([0, 0, 0, 0], 224, 224, S, P)).toEqual({ c0: 0, c1: 0, r0: 0, r1: 0 });
  });

  it('maps the whole image to the whole grid', () => {
    expect(boxToTokenRegion([0, 0, 640, 480], 640, 480, S, P)).toEqual({ c0: 0, c1: 13, r0: 0, r1: 13 });
    expect(regionTokens({ c0: 0, c1: 13, r0: 0, r1: 13 }, GRID)).toEqual(Array.from({ length: 196 }, (_, i) => i + 1));
  });

  it('scales x and y independently on non-square images', () => {
    // 300×900: sx = 224/300, sy = 224/900. Box x 150..300, y 0..300.
    const region = boxToTokenRegion([150, 0, 150, 300], 300, 900, S, P);
    // X0 = 112 → 6, X1 = 224 → 13; Y1 = 74.67 → 4.
    expect(region).toEqual({ c0: 6, c1: 13, r0: 0, r1: 4 });
  });

  it('clamps boxes that run past the right/bottom and left/top edges', () => {
    expect(boxToTokenRegion([600, 400, 500, 500], 640, 480, S, P)).toEqual({ c0: 13, c1: 13, r0: 11, r1: 13 });
    expect(boxToTokenRegion([-50, -50, 60, 60], 640, 480, S, P)).toEqual({ c0: 0, c1: 0, r0: 0, r1: 0 });
  });

  it('works for ViT-L/14 geometry (grid 16)', () => {
    const region = boxToTokenRegion([0, 0, 224, 224], 224, 224, 224, 14);
    expect(region).toEqual({ c0: 0, c1: 15, r0: 0, r1: 15 });
    expect(regionTokens({ c0: 2, c1: 2, r0: 3, r1: 3 }, 16)).toEqual([1 + 16 * 3 + 2]);
  });
});

describe('validateBox', () => {
  const img = { width: 640, height: 480 };
  it('accepts boxes inside or partly outside the image', () => {
    expect(() => validateBox([10, 10, 20, 20], img, 'x')).not.toThrow();
    expect(() => validateBox([620, 470, 100, 100], img, 'x')).not.toThrow();
    expect(() => validateBox([-10, -10, 20, 20], img, 'x')).not.toThrow();
  });
  it('rejects zero-area, outside and non-finite boxes with a one-line message', () => {
    expect(() => validateBox([10, 10, 0, 20], img, 'a.jsonl:3')).toThrow(
      new UserError('a.jsonl:3: box [10,10,0,20] has zero area'),
    );
    expect(() => validateBox([640, 0, 10, 10], img, 'a.jsonl:3')).toThrow(
      new UserError('a.jsonl:3: box [640,0,10,10] lies outside the 640x480 image'),
    );
    expect(() => validateBox([-30, 0, 20, 10], img, 'w')).toThrow(/lies outside/);
    expect(() => validateBox([0, NaN, 20, 10], img, 'w')).toThrow(UserError);
    expect(() => validateBox([0, 0, Infinity, 10], img, 'w')).toThrow(/non-finite/);
  });
});
