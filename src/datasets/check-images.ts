import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { counted, workProgress } from '../util/work-progress.js';
import { firstLineOf } from '../util/errors.js';

/** A manifest line that names an image and the size it recorded. */
export interface ImageUse {
  /** `file:line` of the line. */
  where: string;
  sample: { image: string; width: number; height: number };
}

/** Full decodes at a time: enough to keep both cores busy, few enough to bound memory. */
const DECODES_AT_ONCE = 4;

/**
 * Fully decodes each image once (a readable header does not mean readable pixels) and compares its
 * size with every line that uses it: `file:line: field: problem` for each mismatch, missing file or
 * undecodable image (a missing image is reported once, at its first line).
 */
export async function checkImages(uses: readonly ImageUse[], imageRoot: string): Promise<string[]> {
  const byImage = new Map<string, ImageUse[]>();
  for (const u of uses) byImage.set(u.sample.image, [...(byImage.get(u.sample.image) ?? []), u]);
  const limit = pLimit(DECODES_AT_ONCE);
  const progress = workProgress('decoding images', byImage.size, 'images');
  const check = counted(progress, checkImage);
  try {
    const perImage = await Promise.all(
      [...byImage].map(([image, users]) => limit(() => check(join(imageRoot, image), users))),
    );
    return perImage.flat();
  } finally {
    progress.stop();
  }
}

/** One image's problems: missing, undecodable, or another size than a line recorded. */
async function checkImage(path: string, users: readonly ImageUse[]): Promise<string[]> {
  const first = users[0]!.where;
  if (!(await stat(path).catch(() => undefined))?.isFile()) return [`${first}: image: not found: ${path}`];
  let size: { width: number; height: number };
  try {
    size = (await sharp(path).raw().toBuffer({ resolveWithObject: true })).info;
  } catch (err) {
    return [`${first}: image: ${path} does not decode: ${firstLineOf(err)}`];
  }
  return users
    .filter(({ sample }) => sample.width !== size.width || sample.height !== size.height)
    .map(
      ({ where, sample }) =>
        `${where}: width/height: recorded ${sample.width}×${sample.height}, ${path} is ${size.width}×${size.height}`,
    );
}
