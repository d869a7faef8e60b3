import sharp from 'sharp';
import type { RgbImage } from './rgb-image.js';

/** CLIP's per-channel normalization (OpenAI `clip/clip.py:_transform`), in RGB order. */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/**
 * normalized[channel][byte]: torchvision's ToTensor (x/255) then Normalize ((x − mean)/std), each step
 * rounded to float32 as torch does, so every pixel is one table look-up.
 */
const NORMALIZED: readonly Float32Array[] = [0, 1, 2].map((c) => {
  const mean = Math.fround(CLIP_MEAN[c]!);
  const std = Math.fround(CLIP_STD[c]!);
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(v / 255) - mean) / std;
  return table;
});

/**
 * The reference's effective CLIP preprocessing (FALIP/ReCLIP with `square_size`): bicubic resize of the
 * whole image to exactly size×size (aspect ratio distorted, no center crop), back to 8 bits, /255 and
 * mean/std. Returns [3, size, size] CHW. The prompt-learning datasets' centre crop (input-view.ts) is
 * done before, on the decoded image.
 */
export async function preprocess(img: RgbImage, size: number): Promise<Float32Array> {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  // An image already size×size is used as it is (as PIL's resize to the same size copies it): the
  // centre crop's view arrives so. Otherwise libvips' 'cubic' kernel, Catmull-Rom (a = −0.5) widened
  // when downscaling like PIL's BICUBIC, though not byte-identical to it (pillow-resize.ts).
  const pixels =
    img.width === size && img.height === size
      ? img.data
      : await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
          .resize(size, size, { fit: 'fill', kernel: 'cubic' })
          .raw()
          .toBuffer();
  for (let c = 0; c < 3; c++) {
    const table = NORMALIZED[c]!;
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = table[pixels[3 * i + c]!]!;
  }
  return out;
}
