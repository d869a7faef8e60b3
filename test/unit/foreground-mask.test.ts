import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  binarizeMeanRgb,
  type BinaryMask,
  decodeBinaryMask,
  foregroundRegions,
  maskBox,
} from '../../src/datasets/foreground-mask.js';
import { userErrorMessage } from '../helpers/errors.js';

/** A binary mask from rows of '#' (foreground) and '.' (background). */
function mask(rows: readonly string[]): BinaryMask {
  const width = rows[0]!.length;
  const data = Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));
  return { width, height: rows.length, data };
}

describe('binarizeMeanRgb: mean of R, G, B over 255 > 0.5', () => {
  it('splits at R + G + B = 382.5 (hand-computed), grey masks as R = G = B, alpha ignored', () => {
    // Sums: 383 (0.50065 → fg), 382 (0.49935 → bg), 765, 0, 384 (128·3 → fg), 381 (127·3 → bg).
    const rgb = Uint8Array.from([255, 128, 0, 255, 127, 0, 255, 255, 255, 0, 0, 0, 128, 128, 128, 127, 127, 127]);
    expect([...binarizeMeanRgb(rgb, { width: 6, height: 1 }, 3).data]).toEqual([1, 0, 1, 0, 1, 0]);
    expect([...binarizeMeanRgb(Uint8Array.from([128, 127, 255, 0]), { width: 2, height: 2 }, 1).data]).toEqual([
      1, 0, 1, 0,
    ]);
    // RGBA: a transparent white pixel is white (PIL's convert('RGB') drops alpha); grey + alpha reads the grey.
    expect([
      ...binarizeMeanRgb(Uint8Array.from([255, 255, 255, 0, 0, 0, 0, 255]), { width: 2, height: 1 }, 4).data,
    ]).toEqual([1, 0]);
    expect([...binarizeMeanRgb(Uint8Array.from([200, 0, 10, 255]), { width: 2, height: 1 }, 2).data]).toEqual([1, 0]);
  });
});

describe('foregroundRegions: 8-connected', () => {
  it('joins pixels that touch at a corner (4-connectivity would give two regions)', () => {
    const regions = foregroundRegions(mask(['#...', '.#..', '....', '...#']));
    expect(regions).toEqual([
      { pixels: 2, box: [0, 0, 2, 2] },
      { pixels: 1, box: [3, 3, 1, 1] },
    ]);
  });

  it('finds a U shape as one region whose box has exclusive ends', () => {
    expect(foregroundRegions(mask(['......', '.#..#.', '.#..#.', '.####.', '......']))).toEqual([
      { pixels: 8, box: [1, 1, 4, 3] },
    ]);
  });

  it('an empty mask has none', () => {
    expect(foregroundRegions(mask(['...', '...']))).toEqual([]);
    expect(maskBox(mask(['...', '...']), 'all')).toEqual({ box: undefined, regions: 0 });
  });
});

describe('maskBox', () => {
  const twoBlobs = mask(['##......', '##......', '........', '....###.', '....###.', '....###.']);

  it('all: the box of every foreground pixel; largest: of the region with most pixels', () => {
    expect(maskBox(twoBlobs, 'all')).toEqual({ box: [0, 0, 7, 6], regions: 2 });
    expect(maskBox(twoBlobs, 'largest')).toEqual({ box: [4, 3, 3, 3], regions: 2 });
  });

  it('a tie goes to the region met first in raster order', () => {
    expect(maskBox(mask(['...#', '#...']), 'largest')).toEqual({ box: [3, 0, 1, 1], regions: 2 });
  });
});

describe('decodeBinaryMask', () => {
  it('reads a PNG of grey levels at the threshold, and a greyscale JPEG', async () => {
    // Columns 0..3: 127, 128, 255, 0 on every row.
    const levels = [127, 128, 255, 0];
    const raw = Buffer.from(Array.from({ length: 2 * 4 * 3 }, (_, i) => levels[Math.floor(i / 3) % 4]!));
    const png = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .toBuffer();
    const decoded = await decodeBinaryMask(png, 'm.png');
    expect(decoded).toMatchObject({ width: 4, height: 2 });
    expect([...decoded.data]).toEqual([0, 1, 1, 0, 0, 1, 1, 0]);
    // A flat 8×8-aligned block survives JPEG exactly enough: white block, black elsewhere.
    const grey = Buffer.from(Array.from({ length: 16 * 16 }, (_, p) => (p % 16 >= 8 && p < 128 ? 255 : 0)));
    const jpeg = await sharp(grey, { raw: { width: 16, height: 16, channels: 1 } })
      .toColourspace('b-w')
      .jpeg()
      .toBuffer();
    expect((await sharp(jpeg).metadata()).channels).toBe(1);
    expect(maskBox(await decodeBinaryMask(jpeg, 'm.jpg'), 'all')).toEqual({ box: [8, 0, 8, 8], regions: 1 });
  });

  it('refuses bytes that are no image and 16-bit masks, naming the file', async () => {
    await userErrorMessage(
      decodeBinaryMask(Buffer.from('not an image'), '/x/m.jpg'),
      '/x/m.jpg: mask: does not decode',
    );
    const png16 = await sharp(Buffer.alloc(4 * 4 * 3 * 2), { raw: { width: 4, height: 4, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect(await userErrorMessage(decodeBinaryMask(png16, '/x/m.png'))).toBe(
      '/x/m.png: mask: expected 8-bit channels, found ushort',
    );
  });
});
