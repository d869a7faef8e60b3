import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkImages } from '../../src/datasets/check-images.js';
import { readImageSizes } from '../../src/datasets/image-headers.js';
import { type ProgressFactory, withWorkProgress } from '../../src/util/work-progress.js';

/** A factory that writes down what the displays were told. */
function recorder(): { factory: ProgressFactory; log: string[] } {
  const log: string[] = [];
  const factory: ProgressFactory = (label, total, unit) => {
    log.push(`start ${label} ${total} ${unit}`);
    return { add: (n) => log.push(`add ${n}`), stop: () => log.push('stop') };
  };
  return { factory, log };
}

describe('progress of the long loops inside data import and data check', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'falip-work-progress-'));
  const images = ['a.png', 'b.png', 'c.png'];
  const ready = Promise.all(
    images.map((f, i) =>
      sharp({ create: { width: 4 + i, height: 3, channels: 3, background: '#808080' } })
        .png()
        .toFile(path.join(root, f)),
    ),
  );

  it('counts each distinct image once, and stops the display, inside a scope', async () => {
    await ready;
    const { factory, log } = recorder();
    // a.png is used twice: one decode, one unit.
    const uses = [...images, 'a.png'].map((image, i) => ({
      where: `m.jsonl:${i + 1}`,
      sample: { image, width: 4 + images.indexOf(image), height: 3 },
    }));
    const problems = await withWorkProgress(factory, () => checkImages(uses, root));
    expect(problems).toEqual([]);
    expect(log).toEqual(['start decoding images 3 images', 'add 1', 'add 1', 'add 1', 'stop']);
  });

  it('stops the display when a read fails', async () => {
    await ready;
    const { factory, log } = recorder();
    const listed = [
      { image: 'a.png', where: 'list.txt:1' },
      { image: 'missing.png', where: 'list.txt:2' },
    ];
    await expect(withWorkProgress(factory, () => readImageSizes(listed, root, 'file'))).rejects.toThrow(
      'list.txt:2: file: image not found',
    );
    expect(log[0]).toBe('start reading image headers 2 images');
    expect(log.at(-1)).toBe('stop');
  });

  it('is silent outside a scope', async () => {
    await ready;
    const { log } = recorder();
    const sizes = await readImageSizes([{ image: 'b.png', where: 'list.txt:1' }], root, 'file');
    expect(sizes.get('b.png')).toEqual({ width: 5, height: 3 });
    expect(log).toEqual([]);
  });
});
