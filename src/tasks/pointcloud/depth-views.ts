/**
 * From PointCLIP's 128×128 depth maps to CLIP's input: the one channel copied to three and resized to
 * 224×224 bilinearly with align_corners = true. No CLIP mean/std is applied: PointCLIP V1 feeds the raw
 * depths. Arithmetic is float32 in the order of torch's bilinear upsampling kernel (see projection.ts for
 * why float32), which has one visible consequence: the scale 127/223 rounds to float32, so destination 223
 * reads source 126.9999924 rather than 127, and the last row and column carry a 7.6e-6 share of their
 * neighbour, exactly as in PointCLIP.
 */
import { DEPTH_MAP_SIZE, projectSixViews, VIEW_COUNT, type DepthMap, type PointsXYZ } from './projection.js';

const f32 = Math.fround;

/** Side of CLIP's input image (ViT-B/16 and ViT-L/14 at 224 px). */
export const CLIP_INPUT_SIZE = 224;

/** Channels of CLIP's input; a depth map is replicated into all three. */
const CHANNELS = 3;

/** Where destination pixel `d` reads from along one axis: the two source pixels and their float32 weights. */
interface SourceTap {
  i0: number;
  i1: number;
  w0: number;
  w1: number;
}

/** align_corners = true: source = destination × (in − 1)/(out − 1), the scale itself a float32. */
function sourceTaps(inSize: number, outSize: number): SourceTap[] {
  const scale = outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0;
  return Array.from({ length: outSize }, (_, d) => {
    const src = f32(scale * d);
    const i0 = Math.trunc(src);
    const w1 = f32(src - i0);
    return { i0, i1: i0 < inSize - 1 ? i0 + 1 : i0, w0: f32(1 - w1), w1 };
  });
}

/** The taps are the same for every map, so they are computed once. */
const TAPS_128_TO_224 = sourceTaps(DEPTH_MAP_SIZE, CLIP_INPUT_SIZE);

/**
 * A square single-channel map bilinearly resized with align_corners = true, as
 * `F.interpolate(mode='bilinear', align_corners=True)` computes it in float32:
 * h0·(w0·a + w1·b) + h1·(w0·c + w1·d).
 */
export function resizeBilinearAlignCorners(map: Float32Array, inSize: number, outSize: number): Float32Array {
  if (map.length !== inSize * inSize)
    throw new RangeError(`resizeBilinearAlignCorners: ${map.length} values are not ${inSize}×${inSize}`);
  const taps = inSize === DEPTH_MAP_SIZE && outSize === CLIP_INPUT_SIZE ? TAPS_128_TO_224 : sourceTaps(inSize, outSize);
  const out = new Float32Array(outSize * outSize);
  for (let r = 0; r < outSize; r++) {
    const h = taps[r]!;
    const top = h.i0 * inSize;
    const bottom = h.i1 * inSize;
    for (let c = 0; c < outSize; c++) {
      const w = taps[c]!;
      const upper = f32(f32(w.w0 * map[top + w.i0]!) + f32(w.w1 * map[top + w.i1]!));
      const lower = f32(f32(w.w0 * map[bottom + w.i0]!) + f32(w.w1 * map[bottom + w.i1]!));
      out[r * outSize + c] = f32(f32(h.w0 * upper) + f32(h.w1 * lower));
    }
  }
  return out;
}

/** One view as CLIP sees it: [3, 224, 224], the resized depth map in every channel. */
export function depthMapToClipInput(map: DepthMap): Float32Array {
  const plane = resizeBilinearAlignCorners(map.depth, DEPTH_MAP_SIZE, CLIP_INPUT_SIZE);
  const out = new Float32Array(CHANNELS * plane.length);
  for (let ch = 0; ch < CHANNELS; ch++) out.set(plane, ch * plane.length);
  return out;
}

/** A cloud's six views, both as depth maps and as CLIP input. */
export interface CloudViews {
  /** The 128×128 depth maps, views 0..5. */
  maps: DepthMap[];
  /** [6, 3, 224, 224] float32, view-major (view 0's three channels first). */
  clipInput: Float32Array;
}

/** Values in one view of `CloudViews.clipInput`. */
export const VIEW_INPUT_LENGTH = CHANNELS * CLIP_INPUT_SIZE * CLIP_INPUT_SIZE;

/** The shape of `CloudViews.clipInput`. */
export const CLOUD_INPUT_SHAPE = [VIEW_COUNT, CHANNELS, CLIP_INPUT_SIZE, CLIP_INPUT_SIZE] as const;

export function cloudViews(points: PointsXYZ): CloudViews {
  const maps = projectSixViews(points);
  const clipInput = new Float32Array(maps.length * VIEW_INPUT_LENGTH);
  maps.forEach((map, v) => {
    clipInput.set(depthMapToClipInput(map), v * VIEW_INPUT_LENGTH);
  });
  return { maps, clipInput };
}

/** View `v`'s first channel (all three are equal): the 224×224 map the foreground is read from. */
export function viewPlane(clipInput: Float32Array, v: number): Float32Array {
  const start = v * VIEW_INPUT_LENGTH;
  return clipInput.subarray(start, start + CLIP_INPUT_SIZE * CLIP_INPUT_SIZE);
}
