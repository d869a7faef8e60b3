import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../src/image/load-image.js';
import { encodeNpyFloat32, writeNpy } from '../../src/image/npy.js';
import { CLIP_MEAN, CLIP_STD, preprocess } from '../../src/image/preprocess.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { UserError } from '../../src/util/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'falip-image-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function solid(width: number, height: number, rgb: readonly [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, 3 * i);
  return { width, height, data };
}

/** Left half red, right half blue; a green band on the top quarter marks "up". */
function halves(width: number, height: number): RgbImage {
  const img = solid(width, height, [0, 0, 0]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = y < height / 4 ? [0, 255, 0] : x < width / 2 ? [255, 0, 0] : [0, 0, 255];
      img.data.set(px, 3 * (y * width + x));
    }
  }
  return img;
}

/** Channel c at (x, y) of a [3,S,S] tensor, de-normalized back to 0..255. */
function byteAt(t: Float32Array, size: number, c: number, x: number, y: number): number {
  return (t[c * size * size + y * size + x]! * CLIP_STD[c]! + CLIP_MEAN[c]!) * 255;
}

describe('loadImage', () => {
  it('decodes RGB, drops alpha without compositing and expands grayscale', async () => {
    const rgba = join(dir, 'rgba.png');
    await sharp({ create: { width: 5, height: 4, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 0.25 } } })
      .png()
      .toFile(rgba);
    const a = await loadImage(rgba);
    expect([a.width, a.height, a.data.length]).toEqual([5, 4, 60]);
    expect(Array.from(a.data.slice(0, 3))).toEqual([200, 100, 50]);

    const gray = join(dir, 'gray.png');
    await sharp({ create: { width: 3, height: 2, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .toColourspace('b-w')
      .png()
      .toFile(gray);
    const g = await loadImage(gray);
    expect(g.data.length).toBe(3 * 2 * 3);
    expect(new Set(g.data)).toEqual(new Set([90]));
  });

  it('keeps the stored pixel layout and ignores EXIF orientation', async () => {
    const path = join(dir, 'rotated.jpg');
    const src = halves(40, 20);
    await sharp(src.data, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(path);
    expect((await sharp(path).metadata()).orientation).toBe(6);
    const img = await loadImage(path);
    expect([img.width, img.height]).toEqual([40, 20]);
    const at = (x: number, y: number) => Array.from(img.data.slice(3 * (y * 40 + x), 3 * (y * 40 + x) + 3));
    expect(at(5, 15)[0]).toBeGreaterThan(200); // red stays bottom-left
    expect(at(35, 15)[2]).toBeGreaterThan(200); // blue stays bottom-right
  });

  it('reports missing, corrupt and truncated files as one-line UserErrors naming the path', async () => {
    const missing = join(dir, 'nope.jpg');
    await expect(loadImage(missing)).rejects.toThrow(new UserError(`${missing}: not found`));

    const corrupt = join(dir, 'corrupt.jpg');
    await writeFile(corrupt, Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919 + 13) % 256)));
    await expect(loadImage(corrupt)).rejects.toThrow(UserError);
    await expect(loadImage(corrupt)).rejects.toThrow(`${corrupt}: cannot decode image (`);

    const whole = await sharp(halves(256, 256).data, { raw: { width: 256, height: 256, channels: 3 } })
      .jpeg()
      .toBuffer();
    const truncated = join(dir, 'truncated.jpg');
    await writeFile(truncated, whole.subarray(0, whole.length >> 1));
    const err = await loadImage(truncated).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      new RegExp(`^${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot decode image \\(.+\\)$`),
    );
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('preprocess', () => {
  it('normalizes a constant colour exactly per channel', async () => {
    const rgb = [200, 17, 99] as const;
    const t = await preprocess(solid(37, 23, rgb), 32);
    expect(t).toHaveLength(3 * 32 * 32);
    for (let c = 0; c < 3; c++) {
      const expected = (rgb[c]! / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
      for (let i = 0; i < 32 * 32; i++) {
        if (Math.abs(t[c * 1024 + i]! - expected) > 1e-6)
          expect.fail(`channel ${c} pixel ${i}: ${t[c * 1024 + i]} vs ${expected}`);
      }
    }
  });

  it('keeps left/right and top/bottom, squashing non-square images', async () => {
    for (const [w, h] of [
      [64, 64],
      [120, 40],
      [30, 90],
    ] as const) {
      const S = 24;
      const t = await preprocess(halves(w, h), S);
      // Green band on top, red bottom-left, blue bottom-right, in channel (CHW) order.
      expect(byteAt(t, S, 1, S / 2, 1)).toBeGreaterThan(240);
      expect(byteAt(t, S, 0, 2, S - 2)).toBeGreaterThan(240);
      expect(byteAt(t, S, 2, 2, S - 2)).toBeLessThan(15);
      expect(byteAt(t, S, 2, S - 3, S - 2)).toBeGreaterThan(240);
      expect(byteAt(t, S, 0, S - 3, S - 2)).toBeLessThan(15);
    }
  });
});

describe('npy', () => {
  it('encodes an aligned v1.0 header and little-endian float32 data', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    const buf = encodeNpyFloat32(data, [2, 3, 4]);
    expect(Array.from(buf.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = buf.readUInt16LE(8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = buf.subarray(10, 10 + headerLen).toString('latin1');
    expect(header.endsWith('\n')).toBe(true);
    expect(header.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }");
    const body = buf.subarray(10 + headerLen);
    expect(body.length).toBe(96);
    for (let i = 0; i < 24; i++) expect(body.readFloatLE(4 * i)).toBe(data[i]);
    expect(encodeNpyFloat32(new Float32Array(5), [5]).toString('latin1')).toContain("'shape': (5,)");
    expect(() => encodeNpyFloat32(data, [5, 5])).toThrow(RangeError);
  });

  it('writes the file atomically and leaves no temp file', async () => {
    const path = join(dir, 'x.npy');
    const data = new Float32Array([1.5, -2, Math.PI]);
    await writeNpy(path, data, [3]);
    expect(await readFile(path)).toEqual(encodeNpyFloat32(data, [3]));
    expect((await readdir(dir)).filter((f) => f.startsWith('x.npy'))).toEqual(['x.npy']);
  });
});
