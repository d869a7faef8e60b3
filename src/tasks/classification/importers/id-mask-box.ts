import sharp from 'sharp';
import type { BoxXYWH } from '../../../image/box.js';
import { UserError, firstLineOf } from '../../../util/errors.js';
import type { ImageSize } from '../../../datasets/box-problems.js';

/** ImageNet-S mask ids: 0 = other (background), 1000 = ignore, 1..classCount = classes. */
const BACKGROUND_ID = 0;
const IGNORE_ID = 1000;

/** Which pixels the box encloses: the image's own class, else every labelled pixel, else the whole mask. */
export type MaskBoxSource = 'class' | 'foreground' | 'image';

export interface MaskBox {
  /** In mask pixels, exclusive ends (x2 = max column + 1). */
  box: BoxXYWH;
  from: MaskBoxSource;
  size: ImageSize;
}

/** Running min/max of pixel positions. */
class Extent {
  x1 = Infinity;
  y1 = Infinity;
  x2 = -Infinity;
  y2 = -Infinity;

  add(x: number, y: number): void {
    if (x < this.x1) this.x1 = x;
    if (x > this.x2) this.x2 = x;
    if (y < this.y1) this.y1 = y;
    if (y > this.y2) this.y2 = y;
  }

  get empty(): boolean {
    return this.x2 < this.x1;
  }

  box(): BoxXYWH {
    return [this.x1, this.y1, this.x2 + 1 - this.x1, this.y2 + 1 - this.y1];
  }
}

/**
 * The box of the pixels with id `classId` in an RGB id mask (id = R + 256·G; B unused). Decoded
 * by sharp with the ICC profile ignored, so the 8-bit channel values are the stored bytes; the sum
 * is done in JS numbers, as 8-bit arithmetic would wrap at 256.
 */
export async function boxFromIdMask(
  bytes: Uint8Array,
  path: string,
  classId: number,
  classCount: number,
): Promise<MaskBox> {
  const mask = sharp(bytes, { ignoreIcc: true });
  const undecodable = (err: Error): never => {
    throw new UserError(`${path}: mask: does not decode: ${firstLineOf(err)}`);
  };
  const meta = await mask.metadata().catch(undecodable);
  // A 16-bit PNG would be scaled down to 8 bits on the way out, silently changing every id.
  if (meta.depth !== 'uchar')
    throw new UserError(`${path}: mask: expected 8-bit channels (id = R + 256·G), found ${meta.depth}`);
  // The stored image must be RGB: sharp hands a grayscale (or palette) PNG out as three channels, so a
  // gray value v would read as id v + 256·v (257 for v = 1) and name another class. The reference reads
  // R and G of the stored pixels, which a one-channel mask does not have: it is refused, not guessed.
  if ((meta.channels ?? 0) < 3 || meta.isPalette)
    throw new UserError(
      `${path}: mask: expected an RGB mask (id = R + 256·G), found ${meta.isPalette ? 'a palette' : `a grayscale (${meta.channels} channel)`} PNG`,
    );
  const { data, info } = await mask.raw().toBuffer({ resolveWithObject: true }).catch(undecodable);
  const channels = info.channels;
  const own = new Extent();
  const labelled = new Extent();
  for (let y = 0, i = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++, i += channels) {
      const id = data[i]! + 256 * data[i + 1]!;
      if (id === BACKGROUND_ID || id === IGNORE_ID) continue;
      if (id > classCount) {
        throw new UserError(
          `${path}: pixel (${x}, ${y}): unknown class id ${id} (expected 0 = other, ${IGNORE_ID} = ignore or 1..${classCount})`,
        );
      }
      labelled.add(x, y);
      if (id === classId) own.add(x, y);
    }
  }
  const size = { width: info.width, height: info.height };
  if (!own.empty) return { box: own.box(), from: 'class', size };
  if (!labelled.empty) return { box: labelled.box(), from: 'foreground', size };
  return { box: [0, 0, info.width, info.height], from: 'image', size };
}

/** A mask box in image pixels, when the mask was stored at another size than the image. */
export function rescaleBox([x, y, w, h]: BoxXYWH, from: ImageSize, to: ImageSize): BoxXYWH {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return [x * sx, y * sy, w * sx, h * sy];
}
