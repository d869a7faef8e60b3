import { describe, expect, it } from 'vitest';
import type { BoxXYWH } from '../../src/image/box.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { blurOutside } from '../../src/prompts/blur.js';
import { pillowGaussianBlur } from '../../src/image/gaussian-blur.js';
import { redCircleBlur } from '../../src/prompts/redcircle-blur.js';
import { BLUR_SIGMA, ENLARGE } from '../../src/prompts/shared-params.js';
import { cropBox } from '../../src/prompts/crop.js';
import { grayscaleOutside } from '../../src/prompts/grayscale.js';
import { grayscaleOutsideEllipse } from '../../src/prompts/grayscale-circle.js';
import { defaultCircleThickness, redCircle } from '../../src/prompts/redcircle.js';
import { SHADE_TEXT_TEMPLATE, SHADE_TINT, shadeBox } from '../../src/prompts/shade.js';

const W = 200;
const H = 150;

/** A gradient with an 8-px checkerboard on top, so a blur visibly changes almost every pixel. */
function texturedImage(): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const check = ((x >> 3) + (y >> 3)) % 2 === 0 ? 0 : 100;
      const p = (y * W + x) * 3;
      data[p] = Math.min(255, x + check);
      data[p + 1] = Math.min(255, y + check);
      data[p + 2] = 60 + check;
    }
  }
  return { width: W, height: H, data };
}

const px = (img: RgbImage, x: number, y: number): number[] => {
  const p = (y * img.width + x) * 3;
  return [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!];
};
const RED = [255, 0, 0];
const isRed = (img: RgbImage, x: number, y: number): boolean => px(img, x, y).join() === RED.join();
const same = (a: RgbImage, b: RgbImage, x: number, y: number): boolean => px(a, x, y).join() === px(b, x, y).join();

function* pixels(img: RgbImage): Generator<[x: number, y: number]> {
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) yield [x, y];
}

/** The inscribed-ellipse equation at a pixel's centre (< 1 inside). */
const ellipseValue = (x: number, y: number, [l, t, r, b]: number[]): number =>
  ((x + 0.5 - (l! + r!) / 2) / ((r! - l!) / 2)) ** 2 + ((y + 0.5 - (t! + b!) / 2) / ((b! - t!) / 2)) ** 2;

// Corners l=40, t=40, r=121, b=101: centre (80.5, 70.5), radii 40.5 × 30.5, so pixel 80 / row 70 are the axes.
const BOX: BoxXYWH = [40, 40, 81, 61];
const CORNERS = [40, 40, 121, 101];
// Fractional corners l=40.7, t=40.2, r=121.3, b=101.1: Pillow's rectangle fills columns 40..121, rows 40..101.
const FRACTIONAL_BOX: BoxXYWH = [40.7, 40.2, 80.6, 60.9];
const inPillowRect = (x: number, y: number): boolean => x >= 40 && x <= 121 && y >= 40 && y <= 101;

describe('redCircle', () => {
  it('draws only pure red pixels, all inside the box, on the ellipse axes; nothing else changes', async () => {
    const img = texturedImage();
    const before = new Uint8Array(img.data);
    const out = await redCircle(img, BOX, { thickness: 3, enlarge: 0 });
    expect(img.data).toEqual(before);
    let changed = 0;
    for (const [x, y] of pixels(out)) {
      if (same(img, out, x, y)) continue;
      changed++;
      expect(px(out, x, y)).toEqual(RED);
      expect(x >= 40 && x < 121 && y >= 40 && y < 101).toBe(true);
    }
    expect(changed).toBeGreaterThan(400);
    for (const [x, y] of [
      [80, 40],
      [80, 42],
      [40, 70],
      [120, 70],
      [80, 100],
    ] as const)
      expect(isRed(out, x, y)).toBe(true);
    // 3 px inward: row 43 at the top centre is past the stroke, and the centre is untouched.
    expect(same(img, out, 80, 43)).toBe(true);
    expect(same(img, out, 80, 70)).toBe(true);
    expect(same(img, out, 5, 5)).toBe(true);
  });

  it('defaults to max(1, floor(max(W,H)/200)) px', async () => {
    expect(defaultCircleThickness(640, 480)).toBe(3);
    expect(defaultCircleThickness(100, 50)).toBe(1);
    const out = await redCircle(texturedImage(), BOX, { thickness: 'auto', enlarge: 0 });
    expect(isRed(out, 80, 40)).toBe(true);
    expect(isRed(out, 80, 41)).toBe(false);
  });

  it('clamps a box that sticks out of the image', async () => {
    const img = texturedImage();
    const out = await redCircle(img, [-30, -20, 100, 80], { thickness: 2, enlarge: 0 }); // clamped to 0,0 → 70,60
    for (const [x, y] of pixels(out)) if (!same(img, out, x, y)) expect(x < 70 && y < 60).toBe(true);
    expect(isRed(out, 35, 0)).toBe(true);
    expect(isRed(out, 0, 30)).toBe(true);
    expect(isRed(out, 69, 30)).toBe(true);
  });
});

describe('redCircleBlur', () => {
  it('blurs outside the ellipse, keeps its inside, and draws the outline', async () => {
    const img = texturedImage();
    const before = new Uint8Array(img.data);
    const out = await redCircleBlur(img, BOX, { thickness: 3, enlarge: 0, blurSigma: 100 });
    expect(img.data).toEqual(before);
    let outside = 0;
    let outsideChanged = 0;
    // The rasterizer flattens the arcs, so pixels whose centre is within a hair of the exact ellipse may
    // fall either side; judge only pixels clearly inside or outside it.
    for (const [x, y] of pixels(out)) {
      const e = ellipseValue(x, y, CORNERS);
      if (e > 1.02) {
        outside++;
        if (!same(img, out, x, y)) outsideChanged++;
      } else if (e < 0.98 && !isRed(out, x, y)) {
        expect(px(out, x, y)).toEqual(px(img, x, y));
      }
    }
    expect(outsideChanged / outside).toBeGreaterThan(0.9);
    expect(same(img, out, 41, 41)).toBe(false); // a box corner, outside the ellipse
    expect(same(img, out, 80, 70)).toBe(true);
    for (const [x, y] of [
      [80, 40],
      [40, 70],
      [120, 70],
      [80, 100],
    ] as const)
      expect(isRed(out, x, y)).toBe(true);
  });
});

describe('redcircle enlarge (Table 14)', () => {
  it('grows the ellipse by N pixels on each side, clamped at the image border', async () => {
    const img = texturedImage();
    expect(ENLARGE.schema.parse(undefined)).toBe(0);
    const grown = await redCircle(img, BOX, { thickness: 1, enlarge: 10 });
    // The box 40..121 × 40..101 grows to 30..131 × 30..111: its ellipse's axis points move out by 10.
    for (const [x, y] of [
      [80, 30],
      [30, 70],
      [130, 70],
      [80, 110],
    ] as const)
      expect(isRed(grown, x, y)).toBe(true);
    expect(isRed(grown, 80, 40)).toBe(false);
    // Grown past every border it is the ellipse inscribed in the image.
    const capped = await redCircle(img, BOX, { thickness: 1, enlarge: 500 });
    const whole = await redCircle(img, [0, 0, W, H], { thickness: 1, enlarge: 0 });
    expect(capped.data).toEqual(whole.data);
  });
});

describe('blurOutside', () => {
  it('keeps Pillow’s filled rectangle byte-identical and blurs the rest', async () => {
    expect(BLUR_SIGMA.schema.parse(undefined)).toBe(100);
    const img = texturedImage();
    const before = new Uint8Array(img.data);
    const out = await blurOutside(img, FRACTIONAL_BOX, 100);
    expect(img.data).toEqual(before);
    let outside = 0;
    let outsideChanged = 0;
    let borderChanged = 0;
    for (const [x, y] of pixels(out)) {
      if (inPillowRect(x, y)) expect(px(out, x, y)).toEqual(px(img, x, y));
      else {
        outside++;
        if (!same(img, out, x, y)) {
          outsideChanged++;
          if ((x === 39 || x === 122) && y >= 40 && y <= 101) borderChanged++;
        }
      }
    }
    expect(outsideChanged / outside).toBeGreaterThan(0.9);
    expect(borderChanged).toBeGreaterThan(0.9 * 2 * 62);
    // Outside, the pixels are Pillow's GaussianBlur(100) of the whole image.
    const blurred = pillowGaussianBlur(img, 100);
    for (const [x, y] of pixels(out)) if (!inPillowRect(x, y)) expect(same(out, blurred, x, y)).toBe(true);
  });

  it('clamps a box that sticks out of the image', async () => {
    const img = texturedImage();
    const out = await blurOutside(img, [-30, -20, 100, 80], 5); // clamped to 0,0 → 70,60
    for (let y = 0; y <= 60; y++) for (let x = 0; x <= 70; x++) expect(same(img, out, x, y)).toBe(true);
    expect(same(img, out, 100, 100)).toBe(false);
  });
});

describe('cropBox', () => {
  const expectCropOf = (
    crop: RgbImage,
    img: RgbImage,
    left: number,
    top: number,
    width: number,
    height: number,
  ): void => {
    expect([crop.width, crop.height]).toEqual([width, height]);
    for (const [x, y] of pixels(crop)) expect(px(crop, x, y)).toEqual(px(img, left + x, top + y));
  };

  it('crops the box with Python’s round-half-even corners', async () => {
    const img = texturedImage();
    const before = new Uint8Array(img.data);
    // l 11.5→12, t 10.5→10, r 31.5→32, b 30.5→30
    expectCropOf(await cropBox(img, [11.5, 10.5, 20, 20]), img, 12, 10, 20, 20);
    // l 40.6→41, t 40.2→40, r 121.3→121, b 101.1→101
    expectCropOf(await cropBox(img, [40.6, 40.2, 80.7, 60.9]), img, 41, 40, 80, 61);
    expect(img.data).toEqual(before);
  });

  it('clamps to the image and never returns an empty image', async () => {
    const img = texturedImage();
    expectCropOf(await cropBox(img, [-10, 140, 30, 30]), img, 0, 140, 20, 10);
    expectCropOf(await cropBox(img, [50, 60, 0, 0]), img, 50, 60, 1, 1);
  });
});

/** Pillow's `alpha_composite` integer arithmetic (AlphaComposite.c) for a source over an opaque pixel. */
function pillowAlphaComposite(src: number, srcAlpha: number, dst: number): number {
  const PRECISION_BITS = 7;
  const blend = 255 * (255 - srcAlpha);
  const outa255 = srcAlpha * 255 + blend;
  const coef1 = Math.floor((srcAlpha * 255 * 255 * (1 << PRECISION_BITS)) / outa255);
  const coef2 = 255 * (1 << PRECISION_BITS) - coef1;
  const tmp = src * coef1 + dst * coef2 + (0x80 << PRECISION_BITS);
  return (((tmp >> 8) + tmp) >> 8) >> PRECISION_BITS;
}

describe('shadeBox', () => {
  it('tints Pillow’s filled rectangle exactly as alpha_composite does and leaves the rest', async () => {
    expect(SHADE_TEXT_TEMPLATE).toBe('{} is in red color.');
    const img = texturedImage();
    const before = new Uint8Array(img.data);
    const out = await shadeBox(img, FRACTIONAL_BOX);
    expect(img.data).toEqual(before);
    for (const [x, y] of pixels(out)) {
      const expected = inPillowRect(x, y)
        ? px(img, x, y).map((d, c) => pillowAlphaComposite(SHADE_TINT.rgb[c]!, SHADE_TINT.alpha, d))
        : px(img, x, y);
      expect(px(out, x, y)).toEqual(expected);
    }
    expect(px(out, 40, 40)).not.toEqual(px(img, 40, 40));
  });
});

describe('grayscaleOutside', () => {
  it('turns the outside into 601 luma and keeps the inside', async () => {
    const img = texturedImage();
    const before = new Uint8Array(img.data);
    const out = await grayscaleOutside(img, FRACTIONAL_BOX);
    expect(img.data).toEqual(before);
    for (const [x, y] of pixels(out)) {
      const [r, g, b] = px(img, x, y) as [number, number, number];
      const luma = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      expect(px(out, x, y)).toEqual(inPillowRect(x, y) ? [r, g, b] : [luma, luma, luma]);
    }
    expect(px(img, 39, 70)[0]).not.toBe(px(img, 39, 70)[1]); // the source is not already gray there
  });
});

describe('grayscaleOutsideEllipse (FGVP)', () => {
  it('grays the pixels outside the inscribed ellipse with 601 luma and keeps the inside in colour', async () => {
    const img = texturedImage();
    const out = await grayscaleOutsideEllipse(img, BOX);
    let gray = 0;
    let colour = 0;
    for (const [x, y] of pixels(out)) {
      const e = ellipseValue(x, y, CORNERS);
      const [r, g, b] = px(img, x, y);
      if (e > 1.02) {
        expect(px(out, x, y)).toEqual(Array(3).fill(Math.round(0.299 * r! + 0.587 * g! + 0.114 * b!)));
        gray++;
      } else if (e < 0.98) {
        expect(px(out, x, y)).toEqual([r, g, b]);
        colour++;
      }
    }
    // A box corner is outside the ellipse: gray, unlike grayscaleOutside's rectangle.
    expect(same(img, out, 41, 41)).toBe(false);
    expect(same(img, await grayscaleOutside(img, BOX), 41, 41)).toBe(true);
    expect(gray).toBeGreaterThan(0.7 * W * H);
    expect(colour).toBeGreaterThan(3000);
  });
});
