/**
 * PointCLIP V1's six-view depth projection on hand-made clouds: every expected pixel is worked out here
 * from the formulas (rotate, add 1.6 to depth, u = x'/z', X = (u+1)·64 picks the row, Y the column,
 * ceil(X − 0.5)), with the rotations written out by hand from Rx·Ry·Rz and the view angles.
 */
import { describe, expect, it } from 'vitest';
import {
  CLIP_INPUT_SIZE,
  CLOUD_INPUT_SHAPE,
  cloudViews,
  depthMapToClipInput,
  resizeBilinearAlignCorners,
  viewPlane,
} from '../../src/tasks/pointcloud/depth-views.js';
import { depthPreviewGray } from '../../src/tasks/pointcloud/depth-preview.js';
import { foregroundBox, foregroundTokens } from '../../src/tasks/pointcloud/foreground.js';
import {
  DEPTH_MAP_SIZE,
  occupiedPixels,
  projectView,
  VIEW_ROTATIONS,
  type DepthMap,
} from '../../src/tasks/pointcloud/projection.js';

type Vec3 = [number, number, number];

/**
 * Each view's rotation as it acts on a point, derived by hand. Rz(π/2) sends (x, y, z) to (−y, x, z);
 * then Rx(θ) sends (a, b, c) to (a, b·cosθ − c·sinθ, b·sinθ + c·cosθ) and Ry(θ) sends it to
 * (a·cosθ + c·sinθ, b, −a·sinθ + c·cosθ).
 */
const HAND_ROTATIONS: ((p: Vec3) => Vec3)[] = [
  ([x, y, z]) => [-y, x, z], // v0: Rz(π/2) alone
  ([x, y, z]) => [-y, -z, x], // v1: Rx(π/2): (a, b, c) → (a, −c, b)
  ([x, y, z]) => [-y, -x, -z], // v2: Rx(π): (a, b, c) → (a, −b, −c)
  ([x, y, z]) => [-y, z, -x], // v3: Rx(3π/2): (a, b, c) → (a, c, −b)
  ([x, y, z]) => [-z, x, -y], // v4: Ry(−π/2): (a, b, c) → (−c, b, a)
  ([x, y, z]) => [z, x, y], // v5: Ry(π/2): (a, b, c) → (c, b, −a)
];

/** What +x, +y and +z become in each view (the columns of R), read off the hand rotations above. */
const AXIS_IMAGES: [Vec3, Vec3, Vec3][] = [
  [
    [0, 1, 0],
    [-1, 0, 0],
    [0, 0, 1],
  ],
  [
    [0, 0, 1],
    [-1, 0, 0],
    [0, -1, 0],
  ],
  [
    [0, -1, 0],
    [-1, 0, 0],
    [0, 0, -1],
  ],
  [
    [0, 0, -1],
    [-1, 0, 0],
    [0, 1, 0],
  ],
  [
    [0, 1, 0],
    [0, 0, -1],
    [-1, 0, 0],
  ],
  [
    [0, 1, 0],
    [0, 0, 1],
    [1, 0, 0],
  ],
];

const cloud = (...points: Vec3[]): Float32Array => Float32Array.from(points.flat());

/** Bitwise equality of two float arrays (vitest's deep equality is slow on 50,000-element arrays). */
const sameFloats = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The pixel and depth the formulas give for a rotated point p' (float64). */
function handPixel([x, y, z]: Vec3): { row: number; col: number; depth: number } {
  const depth = z + 1.6;
  const X = ((x / depth + 1) * 128) / 2;
  const Y = ((y / depth + 1) * 128) / 2;
  return { row: Math.ceil(X - 0.5), col: Math.ceil(Y - 0.5), depth };
}

/** Every non-empty pixel of a map as [row, col, depth]. */
function occupied(map: DepthMap): [number, number, number][] {
  const out: [number, number, number][] = [];
  map.depth.forEach((d, i) => {
    if (d !== 0) out.push([Math.floor(i / DEPTH_MAP_SIZE), i % DEPTH_MAP_SIZE, d]);
  });
  return out;
}

describe('the six view rotations', () => {
  it('map the axes as Rx·Ry·Rz with the views’ angles says', () => {
    VIEW_ROTATIONS.forEach((r, v) => {
      AXIS_IMAGES[v]!.forEach((image, axis) => {
        const column = [r[axis]!, r[3 + axis]!, r[6 + axis]!];
        // float32 cos(π/2) is −4.4e-8, not 0: the matrices are the exact ones to float32 rounding.
        column.forEach((value, k) => {
          expect(value, `view ${v}, axis ${axis}, component ${k}`).toBeCloseTo(image[k]!, 6);
        });
      });
    });
  });

  it('agree with the hand rotations on a general point in every view', () => {
    const p: Vec3 = [0.2, -0.3, 0.1];
    HAND_ROTATIONS.forEach((rotate, v) => {
      const expected = handPixel(rotate(p));
      const pixels = occupied(projectView(cloud(p), VIEW_ROTATIONS[v]!));
      expect(pixels, `view ${v}`).toHaveLength(1);
      const [row, col, depth] = pixels[0]!;
      expect([row, col], `view ${v}`).toEqual([expected.row, expected.col]);
      expect(depth).toBeCloseTo(expected.depth, 6);
    });
  });
});

describe('projectView', () => {
  it('puts a point on a known pixel with its depth (view 0 and view 4)', () => {
    // View 0: p' = (−y, x, z) = (−0.25, 0.5, 0.4); z' = 2, u = −0.125 → X = 56 → row ceil(55.5) = 56;
    // v = 0.25 → Y = 80 → col ceil(79.5) = 80.
    expect(occupied(projectView(cloud([0.5, 0.25, 0.4]), VIEW_ROTATIONS[0]!))).toEqual([[56, 80, 2]]);
    // View 4: p' = (−z, x, −y) = (−0.4, 0.2, 0.4); z' = 2, u = −0.2 → X = 51.2 → row ceil(50.7) = 51;
    // v = 0.1 → Y = 70.4 → col ceil(69.9) = 70.
    expect(occupied(projectView(cloud([0.2, -0.4, 0.4]), VIEW_ROTATIONS[4]!))).toEqual([[51, 70, 2]]);
  });

  it('rounds a point on a half pixel down', () => {
    // View 0, p = (0, −1/64, 0.4): p' = (1/64, 0, 0.4), z' = 2, u = 1/128 → X = 64.5 exactly → row 64
    // (half-up would give 65); Y = 64 → col ceil(63.5) = 64.
    expect(occupied(projectView(cloud([0, -1 / 64, 0.4]), VIEW_ROTATIONS[0]!))).toEqual([[64, 64, 2]]);
    // The same on the column: p = (1/64, 0, 0.4) → p' = (0, 1/64, 0.4) → Y = 64.5 → col 64.
    expect(occupied(projectView(cloud([1 / 64, 0, 0.4]), VIEW_ROTATIONS[0]!))).toEqual([[64, 64, 2]]);
    // X = 63.5 → row ceil(63) = 63: p' = (−1/64, 0, 0.4).
    expect(occupied(projectView(cloud([0, 1 / 64, 0.4]), VIEW_ROTATIONS[0]!))).toEqual([[63, 64, 2]]);
  });

  it('keeps the harmonic mean of the depths that land on one pixel', () => {
    // Both on the optical axis of view 0 (u = v = 0 → pixel (64, 64)), at z' = 1 and z' = 2: 2/(1/1 + 1/2) = 4/3.
    const map = projectView(cloud([0, 0, -0.6], [0, 0, 0.4]), VIEW_ROTATIONS[0]!);
    const pixels = occupied(map);
    expect(pixels).toHaveLength(1);
    expect(pixels[0]!.slice(0, 2)).toEqual([64, 64]);
    expect(pixels[0]![2]).toBeCloseTo(4 / 3, 6);
    expect(map.pointsKept).toBe(2);
    expect(occupiedPixels(map)).toBe(1);
  });

  it('drops a point behind the camera (z′ < 0) even when its pixel is inside the frame', () => {
    // View 0, p = (0, 0, −1.7): z' = −0.1, u = v = 0 would be pixel (64, 64).
    const map = projectView(cloud([0, 0, -1.7]), VIEW_ROTATIONS[0]!);
    expect(map.pointsKept).toBe(0);
    expect(occupied(map)).toEqual([]);
  });

  it('drops a point that projects outside the 128×128 frame, and keeps one on the last pixel', () => {
    // View 0, p = (1.5, 0, −1): p' = (0, 1.5, −1), z' = 0.6, v = 2.5 → Y = 224: no column.
    expect(projectView(cloud([1.5, 0, -1]), VIEW_ROTATIONS[0]!).pointsKept).toBe(0);
    // X = −0.5 exactly → ceil(−1) = −1: dropped. p' = (−2.015625, 0, 0.4), i.e. p = (0, 2.015625, 0.4).
    expect(projectView(cloud([0, 2.015625, 0.4]), VIEW_ROTATIONS[0]!).pointsKept).toBe(0);
    // X = 127.5 exactly → ceil(127) = 127, the last row: kept. p' = (1.984375, 0, 0.4).
    expect(occupied(projectView(cloud([0, -1.984375, 0.4]), VIEW_ROTATIONS[0]!))).toEqual([[127, 64, 2]]);
  });
});

describe('resizeBilinearAlignCorners (128 → 224, align_corners = true)', () => {
  const scale = 127 / 223;

  it('maps the corners onto the source corners and interpolates inside', () => {
    // A plane r + 2c: bilinear interpolation reproduces it, so every pixel is s_r + 2·s_c with s = d·127/223.
    const map = new Float32Array(128 * 128).map((_, i) => Math.floor(i / 128) + 2 * (i % 128));
    const out = resizeBilinearAlignCorners(map, 128, 224);
    const at = (r: number, c: number): number => out[r * 224 + c]!;
    expect(at(0, 0)).toBe(0);
    expect(at(0, 223)).toBeCloseTo(254, 3);
    expect(at(223, 0)).toBeCloseTo(127, 3);
    expect(at(223, 223)).toBeCloseTo(381, 3);
    for (const [r, c] of [
      [1, 1],
      [100, 37],
      [150, 222],
    ] as const)
      expect(at(r, c), `(${r}, ${c})`).toBeCloseTo(r * scale + 2 * c * scale, 3);
  });

  it('spreads a single dot by the bilinear weights', () => {
    const map = new Float32Array(128 * 128);
    map[64 * 128 + 64] = 1;
    const out = resizeBilinearAlignCorners(map, 128, 224);
    // Destination 112 reads source 112·127/223 = 63.785: weight 0.785 on source 64 along each axis.
    const w = 112 * scale - 63;
    expect(out[112 * 224 + 112]).toBeCloseTo(w * w, 5);
    // Destination 113 reads 64.354: weight 1 − 0.354 on source 64.
    const w2 = 1 - (113 * scale - 64);
    expect(out[113 * 224 + 112]).toBeCloseTo(w2 * w, 5);
    // Sources 63 < s < 65 are destinations 111..114 (110·127/223 = 62.6, 115·127/223 = 65.5).
    expect(foregroundBox(out, 224)).toEqual([111, 111, 4, 4]);
  });

  it('copies the resized map into all three channels of a view', () => {
    const depth = new Float32Array(128 * 128);
    depth[5 * 128 + 9] = 2;
    const input = depthMapToClipInput({ depth, pointsKept: 1 });
    expect(input).toHaveLength(3 * 224 * 224);
    const plane = input.subarray(0, 224 * 224);
    expect(sameFloats(input.subarray(224 * 224, 2 * 224 * 224), plane)).toBe(true);
    expect(sameFloats(input.subarray(2 * 224 * 224), plane)).toBe(true);
    expect(sameFloats(plane, resizeBilinearAlignCorners(depth, 128, 224))).toBe(true);
    expect(plane.some((v) => v > 0)).toBe(true);
  });
});

describe('cloudViews', () => {
  it('gives [6, 3, 224, 224] view-major, each view the resize of its own depth map', () => {
    const views = cloudViews(cloud([0.2, -0.3, 0.1], [-0.5, 0.4, 0.6], [0.1, 0.1, -0.8]));
    expect(CLOUD_INPUT_SHAPE).toEqual([6, 3, 224, 224]);
    expect(views.clipInput).toHaveLength(6 * 3 * 224 * 224);
    expect(views.maps).toHaveLength(6);
    views.maps.forEach((map, v) => {
      expect(map.pointsKept).toBe(3);
      expect(
        sameFloats(viewPlane(views.clipInput, v), resizeBilinearAlignCorners(map.depth, 128, CLIP_INPUT_SIZE)),
        `view ${v}`,
      ).toBe(true);
    });
  });
});

describe('foreground of a 224×224 map', () => {
  const map = new Float32Array(224 * 224);
  map[10 * 224 + 20] = 1.5; // row 10, col 20: patch (0, 1)
  map[50 * 224 + 30] = 0.7; // row 50, col 30: patch (3, 1)
  map[223 * 224 + 223] = 2; // the last pixel: patch (13, 13)

  it('boxes the pixels > 0 as [x, y, w, h] with exclusive ends, null when empty', () => {
    expect(foregroundBox(map, 224)).toEqual([20, 10, 224 - 20, 224 - 10]);
    const two = new Float32Array(224 * 224);
    two[10 * 224 + 20] = 1;
    two[50 * 224 + 30] = 1;
    expect(foregroundBox(two, 224)).toEqual([20, 10, 30 + 1 - 20, 50 + 1 - 10]);
    expect(foregroundBox(new Float32Array(224 * 224), 224)).toBeNull();
  });

  it('marks each patch token with a pixel > 0 (entry row·G + col is token 1 + row·G + col)', () => {
    const tokens = foregroundTokens(map, 224, 16);
    expect(tokens).toHaveLength(196);
    expect([...tokens.keys()].filter((i) => tokens[i] === 1)).toEqual([1, 3 * 14 + 1, 13 * 14 + 13]);
    // ViT-L/14: 14-pixel patches on a 16×16 grid; row 10 col 20 is patch (0, 1), row 50 col 30 is (3, 2).
    const large = foregroundTokens(map, 224, 14);
    expect(large).toHaveLength(256);
    expect([...large.keys()].filter((i) => large[i] === 1)).toEqual([1, 3 * 16 + 2, 15 * 16 + 15]);
  });
});

describe('depthPreviewGray', () => {
  it('leaves empty pixels black and makes near bright', () => {
    const depth = new Float32Array(128 * 128);
    depth[0] = 0.6;
    depth[1] = 1.1;
    depth[2] = 2.6;
    depth[3] = 3;
    const gray = depthPreviewGray({ depth, pointsKept: 4 });
    expect([...gray.subarray(0, 5)]).toEqual([255, Math.round(255 - 0.25 * 191), 64, 64, 0]);
  });
});
