/**
 * The prompt-learning papers' test transform (shorter side to 224 with Pillow's bicubic, centre crop):
 * its geometry and box mapping against hand-computed cases, and its pixels against Pillow's own
 * (test/fixtures/resize, written by tools/pillow-center-crop.py with Debian's python3-pil 9.4).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { centerCropBox, centerCropGeometry, centerCropImage, inputGeometry } from '../../src/image/input-view.js';
import { pillowResizeBicubic } from '../../src/image/pillow-resize.js';
import { preprocess } from '../../src/image/preprocess.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { FIXTURES } from '../helpers/fixtures.js';

interface PillowEntry {
  width: number;
  height: number;
  input_sha256: string;
  resized: [number, number];
  resized_sha256: string;
  left: number;
  top: number;
  crop_sha256: string;
}
const PILLOW = JSON.parse(readFileSync(path.join(FIXTURES, 'resize', 'pillow-center-crop.json'), 'utf8')) as {
  size: number;
  images: PillowEntry[];
};

/** tools/pillow-center-crop.py's `pixel`: gradients, a checkerboard and a quadratic texture. */
function syntheticImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) {
        const board = (Math.floor(x / 9) + Math.floor(y / 7)) % 2 === 0 ? 200 : 0;
        data[(y * width + x) * 3 + c] =
          (x * 7 + y * 13 + c * 50 + ((x * x + 3 * y * y + x * y * c) % 97) * 2 + board) % 256;
      }
  return { width, height, data };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('centre-crop geometry (torchvision Resize(224) + CenterCrop(224))', () => {
  it('resizes the shorter side to S, truncates the longer, and rounds the offset half to even', () => {
    // 500×375: long = int(224·500/375) = int(298.67) = 298; offset (298 − 224)/2 = 37.
    expect(centerCropGeometry(500, 375, 224)).toMatchObject({ resized: { width: 298, height: 224 }, left: 37, top: 0 });
    // 427 wide, 640 high: long = int(224·640/427) = int(335.74) = 335; offset 111/2 = 55.5 → 56 (even).
    expect(centerCropGeometry(427, 640, 224)).toMatchObject({ resized: { width: 224, height: 335 }, left: 0, top: 56 });
    // 301×299: long = int(225.50) = 225; offset 0.5 → 0 (even), not 1.
    expect(centerCropGeometry(301, 299, 224)).toMatchObject({ resized: { width: 225, height: 224 }, left: 0, top: 0 });
    // 229 wide: long = int(224·229/224) = 229; offset 2.5 → 2.
    expect(centerCropGeometry(229, 224, 224)).toMatchObject({ resized: { width: 229, height: 224 }, left: 2 });
    // Enlarging: 64×64 → 224×224, nothing cut.
    expect(centerCropGeometry(64, 64, 224)).toMatchObject({ scaleX: 3.5, scaleY: 3.5, left: 0, top: 0 });
  });

  it('squash scales each axis to S independently and cuts nothing', () => {
    expect(inputGeometry('squash', 500, 250, 224)).toEqual({
      size: 224,
      scaleX: 0.448,
      scaleY: 0.896,
      left: 0,
      top: 0,
    });
    expect(inputGeometry('center-crop', 500, 375, 224)).toEqual(centerCropGeometry(500, 375, 224));
  });

  it('the geometry agrees with the fixture Pillow was run with', () => {
    for (const e of PILLOW.images) {
      const g = centerCropGeometry(e.width, e.height, PILLOW.size);
      expect([g.resized!.width, g.resized!.height, g.left, g.top], `${e.width}×${e.height}`).toEqual([
        ...e.resized,
        e.left,
        e.top,
      ]);
    }
  });
});

describe('boxes follow the crop', () => {
  // 500×375 → 298×224 (x·0.596, y·224/375), crop columns 37..261.
  const g = centerCropGeometry(500, 375, 224);
  const sy = 224 / 375;

  it('a box inside the crop is scaled and shifted', () => {
    const v = centerCropBox([200, 100, 100, 100], 500, 375, g);
    expect(v.clipped).toBe(false);
    // x: 200·0.596 − 37 = 82.2 .. 300·0.596 − 37 = 141.8; y: 100·sy .. 200·sy.
    expect(v.box![0]).toBeCloseTo(82.2, 12);
    expect(v.box![2]).toBeCloseTo(59.6, 12);
    expect(v.box![1]).toBeCloseTo(100 * sy, 12);
    expect(v.box![3]).toBeCloseTo(100 * sy, 12);
  });

  it('a box partly outside is clipped to the crop', () => {
    // x: 0 → −37 clipped to 0; 100·0.596 − 37 = 22.6.
    const v = centerCropBox([0, 0, 100, 100], 500, 375, g);
    expect(v.clipped).toBe(true);
    expect(v.box![0]).toBe(0);
    expect(v.box![2]).toBeCloseTo(22.6, 12);
    // The right edge: 350·0.596 − 37 = 171.6 .. 450·0.596 − 37 = 231.2 → clipped at 224.
    const right = centerCropBox([350, 10, 100, 20], 500, 375, g);
    expect(right.clipped).toBe(true);
    expect(right.box![0]).toBeCloseTo(171.6, 12);
    expect(right.box![2]).toBeCloseTo(52.4, 12);
  });

  it('a box the crop cuts away entirely has none; one ending on the crop edge has none either', () => {
    // x: 0 .. 50·0.596 − 37 = −7.2: wholly left of the crop.
    expect(centerCropBox([0, 0, 50, 50], 500, 375, g)).toEqual({ box: null, clipped: true });
    // 37/0.596 = 62.08…: a box ending there ends at the crop's left edge: no area inside.
    expect(centerCropBox([0, 0, 37 / 0.596, 50], 500, 375, g).box).toBeNull();
  });

  it('a box past the image is clamped to it first, as every prompt does', () => {
    const v = centerCropBox([200, -50, 100, 150], 500, 375, g);
    expect(v.box![1]).toBe(0);
    expect(v.box![3]).toBeCloseTo(100 * sy, 12);
  });

  it('the whole image of a square picture maps to the whole crop, unclipped', () => {
    const sq = centerCropGeometry(64, 64, 224);
    expect(centerCropBox([0, 0, 64, 64], 64, 64, sq)).toEqual({ box: [0, 0, 224, 224], clipped: false });
  });
});

describe("pixels: Pillow's bicubic, byte for byte", () => {
  it.each(PILLOW.images.map((e) => [`${e.width}×${e.height}`, e] as const))('%s', (_, e) => {
    const img = syntheticImage(e.width, e.height);
    expect(sha(img.data), 'the test draws the image the tool drew').toBe(e.input_sha256);
    expect(sha(pillowResizeBicubic(img, e.resized[0], e.resized[1]).data), 'resize').toBe(e.resized_sha256);
    const crop = centerCropImage(img, PILLOW.size);
    expect([crop.width, crop.height]).toEqual([224, 224]);
    expect(sha(crop.data), 'centre crop').toBe(e.crop_sha256);
  });

  it('an image already S×S passes unchanged, and preprocess then only normalises it', async () => {
    const img = syntheticImage(224, 224);
    expect(centerCropImage(img, 224).data).toEqual(img.data);
    const pixels = await preprocess(img, 224);
    // Channel 0 of pixel (0, 0): (v/255 − mean)/std in float32, as torchvision computes it.
    const v = img.data[0]!;
    expect(pixels[0]).toBe(
      Math.fround(Math.fround(Math.fround(v / 255) - Math.fround(0.48145466)) / Math.fround(0.26862954)),
    );
  });
});
