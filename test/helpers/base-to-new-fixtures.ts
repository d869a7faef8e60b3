import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { inRect, writeMask, writeText, type ZhouEntry, zhouJson } from './coop-release-fixtures.js';

/**
 * Two small prompt-learning releases in CoOp's layout for base-to-new runs: OxfordPets (flat images/,
 * six breeds, FVG-PT masks under <outer>/mask/oxford_pets/images/) and DTD (images/<texture>/, four
 * textures), two test images a class. Each image is a class-coloured ground with a lighter block (its
 * foreground, which the mask marks), so the classes differ and the boxes do too.
 */

const PET_NAMES = ['abyssinian', 'american_bulldog', 'bengal', 'birman', 'boxer', 'british_shorthair'];
const TEXTURES = ['banded', 'blotchy', 'braided', 'bubbly'];

/** The foreground block of image k of class c in a W×H image: [x0, y0, x1, y1). */
function block(c: number, k: number, w: number, h: number): [number, number, number, number] {
  const x0 = 4 + ((c * 7 + k * 11) % (w / 2));
  const y0 = 4 + ((c * 5 + k * 3) % (h / 2));
  return [x0, y0, Math.min(w, x0 + w / 3), Math.min(h, y0 + h / 3)];
}

async function writeImage(
  path: string,
  w: number,
  h: number,
  c: number,
  rect: readonly [number, number, number, number],
) {
  const data = Buffer.alloc(w * h * 3);
  const ground = [(40 * c + 30) % 256, (90 * c + 60) % 256, (150 + 25 * c) % 256];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < 3; ch++)
        data[(y * w + x) * 3 + ch] = inRect(x, y, rect) ? Math.min(255, ground[ch]! + 90) : ground[ch]!;
  await mkdir(dirname(path), { recursive: true });
  await sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 92 })
    .toFile(path);
}

function entries(names: readonly string[], file: (name: string, k: number) => string): ZhouEntry[] {
  return names.flatMap((name, c) =>
    [0, 1].map((k) => ({
      split: 'test' as const,
      image: file(name, k),
      label: c,
      name,
      width: 64 + 16 * k,
      height: 48,
    })),
  );
}

/** `<outer>/oxford_pets` (and `<outer>/mask`), `<outer>/dtd`; returns the folders to import. */
export async function writeBaseToNewReleases(outer: string): Promise<{ pets: string; masks: string; dtd: string }> {
  const pets = join(outer, 'oxford_pets');
  const masks = join(outer, 'mask');
  const dtd = join(outer, 'dtd');
  const petEntries = entries(PET_NAMES, (n, k) => `${n}_${k + 1}.jpg`);
  for (const e of petEntries) {
    const rect = block(e.label, petEntries.indexOf(e) % 2, e.width, e.height);
    await writeImage(join(pets, 'images', e.image), e.width, e.height, e.label, rect);
    await writeMask(join(masks, 'oxford_pets', 'images', e.image), e.width, e.height, (x, y) =>
      inRect(x, y, rect) ? 255 : 0,
    );
  }
  await writeText(join(pets, 'split_zhou_OxfordPets.json'), zhouJson(petEntries));
  const dtdEntries = entries(TEXTURES, (n, k) => `${n}/${n}_000${k + 1}.jpg`);
  for (const [i, e] of dtdEntries.entries())
    await writeImage(
      join(dtd, 'images', e.image),
      e.width,
      e.height,
      e.label + 3,
      block(e.label, i % 2, e.width, e.height),
    );
  await writeText(join(dtd, 'split_zhou_DescribableTextures.json'), zhouJson(dtdEntries));
  return { pets, masks, dtd };
}
