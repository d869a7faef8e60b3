import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../image/rgb-image.js';

/** A sharp pipeline reading the image's raw RGB bytes (sharp only reads them; the input stays untouched). */
export function toSharp(img: RgbImage): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

/** Runs the pipeline and returns its result as a new RGB image (any alpha channel is dropped). */
export async function fromSharp(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels from sharp, got ${info.channels}`);
  // A plain Uint8Array view, so that results compare equal to images built from Uint8Arrays.
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
