import { clampedCorners, type BoxXYWH } from './box.js';

/** A rectangle of patch tokens: columns c0..c1 and rows r0..r1 of the token grid, all inclusive. */
export interface TokenRegion {
  c0: number;
  c1: number;
  r0: number;
  r1: number;
}

/** Index of the patch whose pixel span holds coordinate `v` (already in preprocessed-image pixels). */
function patchIndex(v: number, patchSize: number): number {
  // ceil(v/p) − 1: a coordinate exactly on a border belongs to the left/upper patch. The floor at 0
  // (via max(·,1)) keeps coordinate 0 and clamped negative ones in the first patch.
  return Math.max(Math.ceil(v / patchSize), 1) - 1;
}

/**
 * The tokens a box covers, exactly as FALIP's released `transform_box2token_base`,
 * generalized from 224/16 to any imageSize/patchSize: clamp to the image, scale x and y independently
 * (the preprocessing is a square resize), then take every patch the box touches, at least 1×1.
 * The operation order matches the reference's float64 Python so border cases round the same way.
 */
export function boxToTokenRegion(
  box: BoxXYWH,
  imgW: number,
  imgH: number,
  imageSize: number,
  patchSize: number,
): TokenRegion {
  const [l, t, r, b] = clampedCorners(box, imgW, imgH);
  const sx = imageSize / imgW;
  const sy = imageSize / imgH;
  const c0 = patchIndex(Math.min(l * sx, imageSize), patchSize);
  const r0 = patchIndex(Math.min(t * sy, imageSize), patchSize);
  const c1 = patchIndex(Math.min(r * sx, imageSize), patchSize);
  const r1 = patchIndex(Math.min(b * sy, imageSize), patchSize);
  // A negative-size box would end before it starts; keep the reference's minimum of one token.
  return { c0, c1: Math.max(c1, c0), r0, r1: Math.max(r1, r0) };
}

/** Token indices of a region in the vision sequence: 1 + grid·row + col (0 is CLS), row-major. */
export function regionTokens(region: TokenRegion, grid: number): number[] {
  const tokens: number[] = [];
  for (let row = region.r0; row <= region.r1; row++) {
    for (let col = region.c0; col <= region.c1; col++) tokens.push(1 + grid * row + col);
  }
  return tokens;
}
