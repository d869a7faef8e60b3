import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pillowBoxRadius, pillowGaussianBlur } from '../../src/image/gaussian-blur.js';
import {
  extendedBoxForVariance,
  extendedBoxVariance,
  gaussianBlur,
  gaussianBlurFloat,
} from '../reference/gaussian-blur-reference.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { fromSharp, toSharp } from '../../src/prompts/raw-image.js';

// ---------------------------------------------------------------------------------------------------
// Helpers

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: far below a gray level). */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Builds an RGB image from a per-pixel function. */
function image(width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(rgb(x, y), (y * width + x) * 3);
  }
  return { width, height, data };
}

/** A vertical edge: columns < width/2 are 0, the rest 255, in all channels. */
const stepImage = (width: number, height: number): RgbImage =>
  image(width, height, (x) => (x >= width / 2 ? [255, 255, 255] : [0, 0, 0]));

/** Channel `c` of row `y`. */
function row(img: RgbImage, y: number, c = 0): number[] {
  const out: number[] = [];
  for (let x = 0; x < img.width; x++) out.push(img.data[(y * img.width + x) * 3 + c]!);
  return out;
}

/**
 * The effective σ of a blur from its 8-bit step response: the response's differences are the (line)
 * impulse response, whose standard deviation about its mean is σ. Pixel i's difference sits between
 * columns i and i+1.
 */
function sigmaFromStep(profile: number[]): number {
  const d = profile.slice(1).map((v, i) => v - profile[i]!);
  const total = d.reduce((s, v) => s + v, 0);
  const mean = d.reduce((s, v, i) => s + v * (i + 0.5), 0) / total;
  const variance = d.reduce((s, v, i) => s + v * (i + 0.5 - mean) ** 2, 0) / total;
  return Math.sqrt(variance);
}

/** Deterministic test image: LCG noise (R), an 8-px checkerboard (G), a gradient (B). */
function fixtureImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      data[p] = s >>> 24;
      data[p + 1] = ((x >> 3) + (y >> 3)) % 2 ? 230 : 20;
      data[p + 2] = Math.min(255, x + 2 * y);
    }
  }
  return { width, height, data };
}

/** Pads by replicating the border pixels `pad` times on every side. */
function replicatePad(img: RgbImage, pad: number): RgbImage {
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  return image(img.width + 2 * pad, img.height + 2 * pad, (x, y) => {
    const p = (clamp(y - pad, img.height) * img.width + clamp(x - pad, img.width)) * 3;
    return [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!];
  });
}

function crop(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  return image(width, height, (x, y) => {
    const p = ((y + top) * img.width + x + left) * 3;
    return [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!];
  });
}

const maxAbsDiff = (a: Uint8Array, b: Uint8Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

// ---------------------------------------------------------------------------------------------------

describe('extended box radius', () => {
  it('has variance exactly σ²/3 per pass, is continuous in σ, and a ∈ [0, 1)', () => {
    for (const sigma of [0.05, 0.5, 1, 1.5, 2.3, 5, 10, 37.3, 99.99, 100, 100.01, 250]) {
      const box = extendedBoxForVariance((sigma * sigma) / 3);
      expect(extendedBoxVariance(box) * 3).toBeCloseTo(sigma * sigma, 8);
      expect(box.a).toBeGreaterThanOrEqual(-1e-9);
      expect(box.a).toBeLessThan(1 + 1e-9);
      // Pillow's float32 evaluation of the same radius.
      expect(pillowBoxRadius(sigma)).toBeCloseTo(box.l + box.a, 3);
    }
    // At σ = 100: l = 99, r ≈ 99.5 (a box ~200 px wide).
    const box = extendedBoxForVariance(10000 / 3);
    expect(box.l).toBe(99);
    expect(box.a).toBeCloseTo(0.4975, 3);
    // Continuity across the integer boundaries s² = l(l+1)/3 (a → 1 just below, a = 0 at the boundary).
    for (const l of [1, 4, 99]) {
      const s2 = (l * (l + 1)) / 3;
      const below = extendedBoxForVariance(s2 * (1 - 1e-9));
      const at = extendedBoxForVariance(s2);
      expect(below.l + below.a).toBeCloseTo(at.l + at.a, 5);
    }
  });
});

describe('gaussianBlur', () => {
  // (1) Step response vs the Gaussian CDF. Edge replication continues a step image as the infinite
  // step, so the borders cannot matter; the image is still made ±7σ wide. Pixel i's centre is at
  // i + ½, the edge at width/2. Measured max deviation: 2.93 gray levels at σ = 100, 2.32 at σ = 5.
  // Almost all of it is the kernel's shape, not an error: three boxes have excess kurtosis −0.4, and
  // their CDF departs from Φ by up to 255·0.4/24·max|He₃(z)φ(z)| ≈ 2.3 levels (2.51 measured before
  // rounding, near x = ±0.67σ). Pillow's blur has the very same shape; a sampled Gaussian would not.
  for (const [sigma, width] of [
    [100, 1400],
    [5, 80],
  ] as const) {
    it(`follows 255·Φ(x/σ) across a vertical edge within 3 gray levels at σ = ${sigma}`, () => {
      const out = gaussianBlur(stepImage(width, 3), sigma);
      const profile = row(out, 1);
      let maxDev = 0;
      profile.forEach((v, i) => {
        maxDev = Math.max(maxDev, Math.abs(v - 255 * phi((i + 0.5 - width / 2) / sigma)));
      });
      expect(maxDev).toBeLessThan(3);
      expect(maxDev).toBeGreaterThan(2); // the box³ signature: it is Pillow's kernel, not a true Gaussian
      // Every row and channel is the same, and Pillow's bytes are within a level.
      for (const c of [0, 1, 2]) expect(row(out, 0, c)).toEqual(profile);
      expect(row(out, 2)).toEqual(profile);
      expect(maxAbsDiff(out.data, pillowGaussianBlur(stepImage(width, 3), sigma).data)).toBeLessThanOrEqual(1);
    });
  }

  // (2) Variance of the impulse response. An 8-bit impulse vanishes at σ = 100 (peak 255/(2π·σ²) ≈
  // 0.004), so the impulse goes through the float core; the 8-bit path is measured on the step above.
  it('blurs a single-pixel impulse to per-axis variance σ² (float core, error < 1e-4 relative)', () => {
    for (const sigma of [100, 37.3, 5, 2.5, 0.8]) {
      const { l } = extendedBoxForVariance((sigma * sigma) / 3);
      const half = 3 * (l + 1) + 2; // the kernel's support is ±3(l+1): the borders are never reached
      const n = 2 * half + 1;
      const plane = new Float32Array(n * n);
      plane[half * n + half] = 1;
      const out = gaussianBlurFloat(plane, n, n, 1, sigma);
      let total = 0;
      let vx = 0;
      let vy = 0;
      let mx = 0;
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          const v = out[y * n + x]!;
          total += v;
          mx += v * (x - half);
          vx += v * (x - half) ** 2;
          vy += v * (y - half) ** 2;
        }
      }
      expect(total).toBeCloseTo(1, 4);
      expect(Math.abs(mx)).toBeLessThan(1e-3 * sigma);
      expect(Math.abs(vx / total / sigma ** 2 - 1)).toBeLessThan(1e-4);
      expect(Math.abs(vy / total / sigma ** 2 - 1)).toBeLessThan(1e-4);
    }
  });

  it('has effective σ within 1% of σ on 8-bit images (from the step response)', () => {
    expect(Math.abs(sigmaFromStep(row(gaussianBlur(stepImage(1400, 2), 100), 0)) / 100 - 1)).toBeLessThan(0.01);
    expect(Math.abs(sigmaFromStep(row(gaussianBlur(stepImage(80, 2), 5), 0)) / 5 - 1)).toBeLessThan(0.01);
  });

  // (3)
  it('leaves a constant image constant, also when σ is far larger than the image', () => {
    const flat = image(37, 23, () => [17, 128, 254]);
    for (const sigma of [0.3, 5, 100]) {
      expect(gaussianBlur(flat, sigma).data).toEqual(flat.data);
      expect(pillowGaussianBlur(flat, sigma).data).toEqual(flat.data);
    }
  });

  // (4) Edge replication. Each pass extends its own input's border pixels (as Pillow does; Pillow's
  // bytes, border rows included, are checked below). Where the image is constant out to the border over
  // more than the kernel's reach 3(l+1), that is the same as padding the image with copies of its border
  // pixels, blurring, and cropping back; and the constant border region keeps its value exactly, where
  // zero padding would darken it to about half.
  it('extends the border pixels (edge replication) on all four sides', () => {
    const sigma = 8;
    const { l } = extendedBoxForVariance((sigma * sigma) / 3);
    const reach = 3 * (l + 1); // 24 px
    const k = reach + 2;
    const img = image(70, 60, (x, y) => [
      x < k ? 200 : 40, // left border constant, then an edge
      y < k ? 230 : 30, // top border constant, then an edge
      x < k || y < k || x >= 70 - k || y >= 60 - k ? 250 : (5 * x + 3 * y) % 200, // a constant frame, texture inside
    ]);
    const padded = replicatePad(img, reach + 1);
    const direct = gaussianBlur(img, sigma);
    const viaPad = crop(gaussianBlur(padded, sigma), reach + 1, reach + 1, img.width, img.height);
    // Float sums taken in a different order may flip a rounding; the pixels agree within 1.
    expect(maxAbsDiff(direct.data, viaPad.data)).toBeLessThanOrEqual(1);
    // Integer arithmetic in the Pillow mode: identical.
    const pillowPad = crop(pillowGaussianBlur(padded, sigma), reach + 1, reach + 1, img.width, img.height);
    expect(pillowGaussianBlur(img, sigma).data).toEqual(pillowPad.data);
    // The border pixels keep the border's value.
    const at = (x: number, y: number, c: number) => direct.data[(y * img.width + x) * 3 + c]!;
    expect([at(0, 30, 0), at(k - reach - 1, 30, 0), at(35, 0, 1), at(69, 59, 2), at(0, 5, 2)]).toEqual([
      200, 200, 230, 250, 250,
    ]);
    // And the edges next to them are ordinary blurred edges: midway across each edge, the mean level.
    expect(at(k - 1, 30, 0) + at(k, 30, 0)).toBeCloseTo(240, -1);
  });

  // (5)
  it('blurs the three channels independently', () => {
    const img = image(64, 48, (x, y) => [x >= 32 ? 255 : 0, 0, y % 16 < 4 ? 250 : 10]);
    for (const sigma of [3, 100]) {
      const out = gaussianBlur(img, sigma);
      for (const c of [0, 1, 2]) {
        const single = image(img.width, img.height, (x, y) => {
          const v = img.data[(y * img.width + x) * 3 + c]!;
          return [v, v, v];
        });
        const alone = gaussianBlur(single, sigma);
        for (let i = 0; i < out.data.length; i += 3) {
          if (out.data[i + c] !== alone.data[i]) throw new Error(`channel ${c} differs at pixel ${i / 3}, σ ${sigma}`);
        }
      }
      expect(out.data.filter((_, i) => i % 3 === 1).every((v) => v === 0)).toBe(true);
    }
  });

  it('returns a copy at σ = 0 and rejects invalid σ', () => {
    const img = fixtureImage(9, 7);
    const out = gaussianBlur(img, 0);
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => gaussianBlur(img, bad)).toThrow(RangeError);
      expect(() => pillowGaussianBlur(img, bad)).toThrow(RangeError);
    }
  });

  it('handles 1-pixel-wide and 1-pixel-tall images', () => {
    const col = image(1, 50, (_x, y) => (y < 25 ? [0, 0, 0] : [255, 255, 255]));
    const out = gaussianBlur(col, 5);
    expect(out.width).toBe(1);
    expect(out.data[0]).toBe(0);
    expect(out.data[49 * 3]).toBe(255);
    expect(out.data[24 * 3]! + out.data[25 * 3]!).toBeCloseTo(255, -1);
  });

  // (6) Why the project does not use sharp: libvips truncates its Gaussian mask where it drops below
  // 0.2 of the peak (minAmplitude), i.e. at ±σ·√(2 ln 5) ≈ ±1.79σ, which removes the tails and leaves an
  // effective σ of ≈ 83.5 for blur(100); Pillow's (and ours) is 100.
  it("is wider than sharp's blur(100), whose effective σ is < 90", async () => {
    const step = stepImage(1400, 2);
    const sharpSigma = sigmaFromStep(row(await fromSharp(toSharp(step).blur(100)), 0));
    const ourSigma = sigmaFromStep(row(gaussianBlur(step, 100), 0));
    expect(sharpSigma).toBeLessThan(90);
    expect(sharpSigma).toBeGreaterThan(75);
    expect(ourSigma).toBeGreaterThan(99);
    expect(ourSigma).toBeLessThan(101);
  });
});

describe('pillowGaussianBlur', () => {
  // SHA-256 of Pillow 9.4's `Image.frombytes('RGB', (160, 120), fixtureImage bytes)
  // .filter(ImageFilter.GaussianBlur(σ)).tobytes()` (generated once with Pillow; no Python at test time).
  const PILLOW_SHA256: Record<string, string> = {
    '0.7': '0bb8b5caec71e9bbb0c9a3c49a7c1b9fa7138facaeefc17b277392d094f4808c',
    '5': 'd3e4b52d1fc48c8179996a0808f74a8137ff0be36df1ced264eceba73c5f840c',
    '37.3': '3ef61371f65058047cad6d37528e58d90c8d9110732384868fb0317c05474cc1',
    '100': '541668a147d4c807c181a9460c5c01e685caaf8b1bc0148d288bbe8faf4838ab',
  };
  const img = fixtureImage(160, 120);

  for (const [sigma, hash] of Object.entries(PILLOW_SHA256)) {
    it(`is byte-identical to Pillow's GaussianBlur(${sigma})`, () => {
      const out = pillowGaussianBlur(img, Number(sigma));
      expect(createHash('sha256').update(out.data).digest('hex')).toBe(hash);
    });
  }

  it('differs from the exact-variance gaussianBlur by at most a gray level or two', () => {
    // Measured: max 1 at σ ≥ 5, 2 at σ = 0.7 (Pillow rounds to 8 bits after each of its six passes).
    for (const sigma of [5, 37.3, 100])
      expect(maxAbsDiff(pillowGaussianBlur(img, sigma).data, gaussianBlur(img, sigma).data)).toBeLessThanOrEqual(1);
    expect(maxAbsDiff(pillowGaussianBlur(img, 0.7).data, gaussianBlur(img, 0.7).data)).toBeLessThanOrEqual(2);
  });
});
