import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { pillowFilledRectangle } from './pillow-rectangle.js';

/**
 * Gray outside the box (FGVP's `grayscale_box_mask`), inside unchanged. "Inside" is the same rectangle
 * as for blur and shade, so the prompts mark identical pixels.
 * Gray is the rounded ITU-R 601 luma 0.299R + 0.587G + 0.114B. FGVP's cv2 call swaps R and B (BGR2GRAY on
 * RGB data); we use the intended weights. Not sharp: its `grayscale()` takes linear-light luminance
 * and its `recomb()` truncates, neither of which is this luma.
 */
export async function grayscaleOutside(img: RgbImage, box: BoxXYWH): Promise<RgbImage> {
  const out = new Uint8Array(img.data);
  const inside = pillowFilledRectangle(box, img.width, img.height);
  const isInside = (x: number, y: number): boolean =>
    inside !== null &&
    x >= inside.left && x < inside.left + inside.width &&
    y >= inside.top && y < inside.top + inside.height;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (isInside(x, y)) continue;
      const p = (y * img.width + x) * 3;
      const luma = Math.round(0.299 * img.data[p]! + 0.587 * img.data[p + 1]! + 0.114 * img.data[p + 2]!);
      out.fill(luma, p, p + 3);
    }
  }
  return { width: img.width, height: img.height, data: out };
}
