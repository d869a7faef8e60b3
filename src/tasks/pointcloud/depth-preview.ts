/** Depth maps as 8-bit grayscale pictures, for people to look at (CLIP never sees these). */
import { CAMERA_DISTANCE } from './points.js';
import type { DepthMap } from './projection.js';

/**
 * The depth range of a cloud inside the unit sphere: the camera sits 1.6 from the centre, so points lie
 * between 0.6 and 2.6 from it. One fixed range for every view and cloud keeps pictures comparable.
 */
export const PREVIEW_NEAR = CAMERA_DISTANCE - 1;
export const PREVIEW_FAR = CAMERA_DISTANCE + 1;

/** Gray levels: the nearest depth is white, the farthest stays well above the black of empty pixels. */
const NEAR_GRAY = 255;
const FAR_GRAY = 64;

/** One byte per pixel: 0 where no point landed, else linear from 255 at depth ≤ 0.6 to 64 at depth ≥ 2.6. */
export function depthPreviewGray(map: DepthMap): Uint8Array {
  const gray = new Uint8Array(map.depth.length);
  map.depth.forEach((d, i) => {
    if (d === 0) return;
    const t = Math.min(Math.max((d - PREVIEW_NEAR) / (PREVIEW_FAR - PREVIEW_NEAR), 0), 1);
    gray[i] = Math.round(NEAR_GRAY - t * (NEAR_GRAY - FAR_GRAY));
  });
  return gray;
}
