/**
 * PointCLIP V1's zero-shot six-view depth projection: a point cloud becomes six sparse 128×128 depth
 * maps, one per camera. Each view rotates the cloud, pushes it 1.6 units along the viewing axis, divides
 * by depth (perspective), splats every point onto one pixel and keeps per pixel the harmonic mean of the
 * depths that land there.
 *
 * Precision: PointCLIP does all of this in float32 torch, so every operation here is rounded to float32
 * (Math.fround, or a store into a Float32Array) in the order torch performs it. With exact float64 the
 * rotations would be exact 0/±1 matrices; in float32 cos(π/2) is −4.4e-8, and a point on a pixel border
 * can fall on the other side. Keeping float32 keeps the borders where PointCLIP has them.
 */

import { CAMERA_DISTANCE, type PointsXYZ } from './points.js';

export type { PointsXYZ } from './points.js';

const f32 = Math.fround;

/** Rotation angles (radians) about x, y and z; the view's matrix is Rx(ax)·Ry(ay)·Rz(az). */
export type EulerAngles = readonly [ax: number, ay: number, az: number];

/** A 3×3 matrix, row-major. */
export type Mat3 = Float32Array;

/** Side of each depth map, in pixels. */
export const DEPTH_MAP_SIZE = 128;

/**
 * The six cameras in view order: four 90° apart about x, then ±90° about y, each with a 90° roll
 * about z (PointCLIP calls them front, right, back, left, top and bottom).
 */
export const VIEW_ANGLES: readonly EulerAngles[] = [
  [0, 0, Math.PI / 2],
  [Math.PI / 2, 0, Math.PI / 2],
  [Math.PI, 0, Math.PI / 2],
  [(3 * Math.PI) / 2, 0, Math.PI / 2],
  [0, -Math.PI / 2, Math.PI / 2],
  [0, Math.PI / 2, Math.PI / 2],
];

export const VIEW_COUNT = VIEW_ANGLES.length;

/** Added to depths before dividing by them, as PointCLIP does, so a point at depth 0 gives no division by zero. */
const EPSILON = f32(1e-12);

/** One view's depth map: `depth[row * 128 + col]`, 0 where no point landed. */
export interface DepthMap {
  depth: Float32Array;
  /** Points that landed inside the frame in front of the camera. */
  pointsKept: number;
}

/** Float32 product of two row-major 3×3 matrices, each entry summed over k = 0, 1, 2 in order. */
function matmul3(a: Mat3, b: Mat3): Mat3 {
  const out = new Float32Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum = f32(sum + f32(a[i * 3 + k]! * b[k * 3 + j]!));
      out[i * 3 + j] = sum;
    }
  }
  return out;
}

/** R = Rx(ax)·Ry(ay)·Rz(az), right-handed, from float32 angles and float32 sines and cosines. */
export function viewRotation(angles: EulerAngles): Mat3 {
  const [cx, sx] = cosSin(angles[0]);
  const [cy, sy] = cosSin(angles[1]);
  const [cz, sz] = cosSin(angles[2]);
  const rx = Float32Array.of(1, 0, 0, 0, cx, -sx, 0, sx, cx);
  const ry = Float32Array.of(cy, 0, sy, 0, 1, 0, -sy, 0, cy);
  const rz = Float32Array.of(cz, -sz, 0, sz, cz, 0, 0, 0, 1);
  return matmul3(matmul3(rx, ry), rz);
}

function cosSin(angle: number): [number, number] {
  const a = f32(angle);
  return [f32(Math.cos(a)), f32(Math.sin(a))];
}

/** The six views' rotation matrices, in view order. */
export const VIEW_ROTATIONS: readonly Mat3[] = VIEW_ANGLES.map(viewRotation);

/**
 * One view's depth map. A point p becomes p' = R·p, then z' = p'z + 1.6; u = x'/z', v = y'/z';
 * X = (u + 1)·128/2 selects the row and Y = (v + 1)·128/2 the column, each rounded half-down
 * (ceil(X − 0.5)); the point counts only when row and column lie in 0..127 and z' ≥ 0. A pixel's value
 * is Σ z'·w / Σ w with w = 1/(z' + 1e-12): the harmonic mean of its depths; empty pixels are 0.
 */
export function projectView(points: PointsXYZ, rotation: Mat3): DepthMap {
  const size = DEPTH_MAP_SIZE;
  const weightSum = new Float32Array(size * size);
  const valueSum = new Float32Array(size * size);
  const cameraZ = f32(-CAMERA_DISTANCE);
  let pointsKept = 0;
  for (let i = 0; i < points.length; i += 3) {
    const [x, y, z] = rotated(points, i, rotation);
    const depth = f32(z - cameraZ);
    const denominator = f32(depth + EPSILON);
    const u = f32(x / denominator);
    const v = f32(y / denominator);
    // (u + 1)·128 is exact to halve; ceil(X − 0.5) is torch's 1×1 splat (offset −0.5, then ceil).
    const row = Math.ceil(f32(f32(f32(f32(u + 1) * size) / 2) - 0.5));
    const col = Math.ceil(f32(f32(f32(f32(v + 1) * size) / 2) - 0.5));
    // NaN fails every comparison, so a non-finite coordinate is dropped like an out-of-frame one.
    if (!(row >= 0 && row <= size - 1 && col >= 0 && col <= size - 1 && depth >= 0)) continue;
    const weight = f32(1 / denominator);
    const pixel = row * size + col;
    weightSum[pixel]! += weight;
    valueSum[pixel]! += f32(depth * weight);
    pointsKept++;
  }
  const depth = new Float32Array(size * size);
  for (let p = 0; p < depth.length; p++) {
    // An empty pixel has weight 0; PointCLIP divides by 1 there instead, leaving 0.
    depth[p] = weightSum[p] === 0 ? 0 : f32(valueSum[p]! / weightSum[p]!);
  }
  return { depth, pointsKept };
}

/** Point `i` (offset into `points`) times Rᵀ as torch's row-vector matmul sums it: Σ over x, y, z in order. */
function rotated(points: PointsXYZ, i: number, r: Mat3): [number, number, number] {
  const px = points[i]!;
  const py = points[i + 1]!;
  const pz = points[i + 2]!;
  const row = (j: number): number => f32(f32(f32(px * r[j * 3]!) + f32(py * r[j * 3 + 1]!)) + f32(pz * r[j * 3 + 2]!));
  return [row(0), row(1), row(2)];
}

/** All six depth maps of a cloud, in view order. */
export function projectSixViews(points: PointsXYZ): DepthMap[] {
  return VIEW_ROTATIONS.map((rotation) => projectView(points, rotation));
}

/** Pixels where at least one point landed. */
export function occupiedPixels(map: DepthMap): number {
  let n = 0;
  for (const d of map.depth) if (d !== 0) n++;
  return n;
}
