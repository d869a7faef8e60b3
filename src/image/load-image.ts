import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { UserError } from '../util/errors.js';
import type { RgbImage } from './rgb-image.js';

/**
 * Decodes an image file to 8-bit RGB the way the reference's PIL `Image.open(p).convert('RGB')` does:
 * alpha is dropped (not composited), grayscale becomes three equal channels, and the EXIF orientation
 * is ignored — sharp only rotates when asked (`autoOrient`), which we never do, so boxes given in
 * stored-pixel coordinates stay valid.
 */
export async function loadImage(path: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: not found`);
    throw new UserError(`${path}: cannot read (${code ?? (e as Error).message})`);
  }
  try {
    // 'truncated' makes a cut-off file an error instead of silently gray-filled pixels, while still
    // accepting the slightly off-spec JPEGs that PIL decodes without complaint.
    const { data, info } = await sharp(bytes, { failOn: 'truncated' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data };
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0]?.trim();
    throw new UserError(`${path}: cannot decode image (${reason})`);
  }
}
