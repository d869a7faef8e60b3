import type { ImageInput } from '../../src/encoder/encoder.js';
import { TensorImage } from '../../src/encoder/image-input.js';
import type { AttentionBias } from '../../src/encoder/requests.js';
import type { BoxXYWH } from '../../src/image/box.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import type { VisionConfig } from '../../src/model/clip-config.js';
import { makeMethod } from '../../src/prompts/method.js';
import { Rng } from '../../src/util/rng.js';

let unique = 0;

/**
 * Preprocessed pixels as an encoder input. Inputs with the same `key` share the encoder's per-image
 * work (prefix layers); without one, each call is its own image.
 */
export function pixelInput(pixels: Float32Array, key = `pixels-${unique++}`): ImageInput {
  return new TensorImage(key, pixels, 1, 1);
}

/** The foveal bias FALIP builds for `box` on a width×height image, with any of its parameters changed. */
export function falipBias(
  box: BoxXYWH,
  width: number,
  height: number,
  vision: VisionConfig,
  params: Record<string, unknown> = {},
): AttentionBias {
  return makeMethod('falip', params, vision, 'test').prepare({ width, height, box }).attention!;
}

/** Seeded pseudo-random pixels in [-2, 2], the range of CLIP-normalized images: a [3,S,S] input. */
export function randomPixels(imageSize: number, seed: number): Float32Array {
  const out = new Float32Array(3 * imageSize ** 2);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 16807) % 2147483647;
    out[i] = (s / 2147483647) * 4 - 2;
  }
  return out;
}

/** A seeded random RGB image (every byte uniform in 0..255). */
export function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng.next() * 256)) };
}

/** An attention bias's gate ([layers, heads] row-major) in the float64 reference's form: gate[l][h]. */
export function gateRows(gate: Float32Array, heads: number): number[][] {
  if (gate.length % heads !== 0) throw new Error(`gate of ${gate.length} values is not [layers, ${heads}]`);
  return Array.from({ length: gate.length / heads }, (_, l) => Array.from(gate.subarray(l * heads, (l + 1) * heads)));
}
