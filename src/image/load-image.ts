import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { firstLineOf, UserError } from '../util/errors.js';
import type { RgbImage } from './rgb-image.js';

/** Pillow's MULDIV255: a·b/255 rounded, in integers. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/**
 * CMYK pixels to RGB as Pillow's `convert('RGB')` does (Convert.c, cmyk2rgb): no colour management,
 * each channel (255 − K) − X·(255 − K)/255 in integer arithmetic. libvips' own CMYK transform goes
 * through an ICC profile and lands some 20 levels away on average, which the reference never sees.
 */
export function cmykToRgbAsPillow(cmyk: Uint8Array, pixels: number): Buffer {
  const rgb = Buffer.alloc(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - cmyk[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = nk - mulDiv255(cmyk[i * 4 + c]!, nk);
  }
  return rgb;
}

/**
 * Decodes an image file to 8-bit RGB the way the reference's PIL `Image.open(p).convert('RGB')` does:
 * alpha is dropped (not composited), grayscale becomes three equal channels, CMYK is converted by
 * Pillow's formula (`cmykToRgbAsPillow`), and the EXIF orientation is ignored — sharp only rotates when
 * asked (`autoOrient`), which we never do, so boxes given in stored-pixel coordinates stay valid.
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
    const meta = await sharp(bytes, { failOn: 'truncated' }).metadata();
    if (meta.space === 'cmyk') {
      // The stored CMYK (Adobe's inverted form undone by the decoder, as PIL's JPEG plugin does).
      const { data, info } = await sharp(bytes, { failOn: 'truncated' })
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`a CMYK image decoded to ${info.channels} channels`);
      return { width: info.width, height: info.height, data: cmykToRgbAsPillow(data, info.width * info.height) };
    }
    const { data, info } = await sharp(bytes, { failOn: 'truncated' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data };
  } catch (e) {
    const reason = firstLineOf(e);
    throw new UserError(`${path}: cannot decode image (${reason})`);
  }
}
