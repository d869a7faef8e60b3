import sharp from 'sharp';
import type { BoxXYWH } from '../image/box.js';
import { UserError, firstLineOf } from '../util/errors.js';
import type { ImageSize } from './box-problems.js';

/**
 * Binary foreground masks (FVG-PT's SEEM views, or any white-on-black mask) and the boxes they give.
 * Regions are 8-connected: pixels touching at a corner are one region, as a thin diagonal limb is one
 * object and a JPEG-compressed outline often meets itself only at corners.
 */

/** Row-major, one byte a pixel: 1 foreground, 0 background. */
export interface BinaryMask extends ImageSize {
  data: Uint8Array;
}

/** One 8-connected region of foreground pixels. */
export interface MaskRegion {
  pixels: number;
  /** Exclusive ends: x = first column, w = last column + 1 − x (likewise y, h). */
  box: BoxXYWH;
}

/** Which foreground pixels a box encloses: all of them, or only the largest region's. */
export const MASK_REGION_POLICIES = ['all', 'largest'] as const;
export type MaskRegionPolicy = (typeof MASK_REGION_POLICIES)[number];

/**
 * FVG-PT's rule (`_binarize_mask` in its Dassl fork): the mean of R, G and B scaled to [0, 1] is
 * foreground when > 0.5. On 8-bit values that is R + G + B > 382.5; the sum is an integer, so ≥ 383
 * (the nearest sums give means 0.49935 and 0.50065, far from float32's rounding). Grey masks count as
 * R = G = B and alpha is ignored, as PIL's convert('RGB') (FVG-PT's read_image) makes them.
 */
export function binarizeMeanRgb(data: Uint8Array, size: ImageSize, channels: number): BinaryMask {
  const { width, height } = size;
  if (data.length !== width * height * channels)
    throw new Error(`binarizeMeanRgb: ${data.length} bytes for ${width}×${height}×${channels}`);
  const out = new Uint8Array(width * height);
  const grey = channels < 3;
  for (let p = 0, i = 0; p < out.length; p++, i += channels) {
    const sum = grey ? 3 * data[i]! : data[i]! + data[i + 1]! + data[i + 2]!;
    out[p] = sum > 382 ? 1 : 0;
  }
  return { width, height, data: out };
}

/**
 * Decodes a mask file (JPEG, PNG, ...) and binarises it. The ICC profile is ignored so that the
 * channel values are the stored ones, as PIL reads them; EXIF orientation is not applied (neither
 * PIL's open nor falip's image sizes apply it).
 */
export async function decodeBinaryMask(bytes: Uint8Array, path: string): Promise<BinaryMask> {
  const image = sharp(bytes, { ignoreIcc: true });
  const undecodable = (err: Error): never => {
    throw new UserError(`${path}: mask: does not decode: ${firstLineOf(err)}`);
  };
  const meta = await image.metadata().catch(undecodable);
  // sharp would hand 16-bit samples out as 16-bit raw values, which the 8-bit threshold would misread.
  if (meta.depth !== 'uchar') throw new UserError(`${path}: mask: expected 8-bit channels, found ${meta.depth}`);
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true }).catch(undecodable);
  return binarizeMeanRgb(data, info, info.channels);
}

/**
 * Every 8-connected foreground region, in raster order of its first pixel. A flood fill that marks a
 * pixel when it is pushed, so the stack never holds a pixel twice (at most width × height entries).
 */
export function foregroundRegions(mask: BinaryMask): MaskRegion[] {
  const { width, height, data } = mask;
  const seen = new Uint8Array(data.length);
  const stack = new Int32Array(data.length);
  const regions: MaskRegion[] = [];
  for (let start = 0; start < data.length; start++) {
    if (data[start] === 0 || seen[start] === 1) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let pixels = 0;
    let [x1, y1, x2, y2] = [width, height, -1, -1];
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      pixels++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const q = ny * width + nx;
          if (data[q] === 1 && seen[q] === 0) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    regions.push({ pixels, box: [x1, y1, x2 + 1 - x1, y2 + 1 - y1] });
  }
  return regions;
}

/** What a mask gives: its box in mask pixels (undefined when it has no foreground pixel) and its region count. */
export interface MaskBox {
  box: BoxXYWH | undefined;
  regions: number;
}

/**
 * The bounding box of all foreground pixels, or of the largest region's (most pixels; a tie goes to
 * the region met first in raster order).
 */
export function maskBox(mask: BinaryMask, policy: MaskRegionPolicy): MaskBox {
  const regions = foregroundRegions(mask);
  if (regions.length === 0) return { box: undefined, regions: 0 };
  if (policy === 'largest') {
    const largest = regions.reduce((best, r) => (r.pixels > best.pixels ? r : best));
    return { box: largest.box, regions: regions.length };
  }
  // A loop, not Math.min(...): a noisy mask can hold more regions than a call takes arguments.
  let [l, t, r, b] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const { box } of regions) {
    l = Math.min(l, box[0]);
    t = Math.min(t, box[1]);
    r = Math.max(r, box[0] + box[2]);
    b = Math.max(b, box[1] + box[3]);
  }
  return { box: [l, t, r - l, b - t], regions: regions.length };
}
