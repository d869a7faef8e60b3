import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { firstLineOf, UserError } from '../util/errors.js';
import { counted, workProgress } from '../util/work-progress.js';
import type { ImageSize } from './box-problems.js';

/** An image a release lists, with where it is listed (for the message when it is missing). */
export interface ListedImage {
  /** Relative to the image root. */
  image: string;
  /** `file:line` (or the file) that names the image. */
  where: string;
}

/** Header reads are cheap and mostly waiting on the disk, so a few run at once. */
const HEADER_READS_AT_ONCE = 8;

/**
 * The stored size (not EXIF-rotated, as FALIP's preprocessing does not rotate) of every listed
 * image, from its header, read once however often it is listed. The first missing or unreadable image
 * stops the import as `where: field: problem`, `where` being the first place that lists it.
 */
export async function readImageSizes(
  images: readonly ListedImage[],
  root: string,
  field: string,
): Promise<Map<string, ImageSize>> {
  const firstUse = new Map<string, string>();
  for (const { image, where } of images) if (!firstUse.has(image)) firstUse.set(image, where);
  const limit = pLimit(HEADER_READS_AT_ONCE);
  const progress = workProgress('reading image headers', firstUse.size, 'images');
  const read = counted(
    progress,
    async (image: string, where: string) => [image, await readImageSize(join(root, image), where, field)] as const,
  );
  try {
    return new Map(await Promise.all([...firstUse].map(([image, where]) => limit(() => read(image, where)))));
  } finally {
    progress.stop();
  }
}

export async function readImageSize(path: string, where: string, field: string): Promise<ImageSize> {
  if (!(await stat(path).catch(() => undefined))?.isFile())
    throw new UserError(`${where}: ${field}: image not found: ${path}`);
  const meta = await sharp(path)
    .metadata()
    .catch((err: Error) => {
      throw new UserError(`${where}: ${field}: cannot read image ${path}: ${firstLineOf(err)}`);
    });
  if (!meta.width || !meta.height) throw new UserError(`${where}: ${field}: image ${path} has no size in its header`);
  return { width: meta.width, height: meta.height };
}

/**
 * Evaluation's check of the images it is about to use: each one's header must still give the size its
 * manifest line recorded (the boxes are in that size). An image replaced since the import by one of
 * another size is refused before anything is scored, naming the first line that uses it; a header read
 * costs a small fraction of the decode that follows.
 */
export async function requireRecordedSizes(
  uses: readonly { where: string; image: string; width: number; height: number }[],
  root: string,
): Promise<void> {
  const first = new Map<string, (typeof uses)[number]>();
  for (const u of uses) if (!first.has(u.image)) first.set(u.image, u);
  const limit = pLimit(HEADER_READS_AT_ONCE);
  const problems = await Promise.all(
    [...first.values()].map((u) =>
      limit(async () => {
        const path = join(root, u.image);
        const size = await readImageSize(path, u.where, 'image');
        return size.width === u.width && size.height === u.height
          ? undefined
          : `${u.where}: width/height: recorded ${u.width}×${u.height}, ${path} is ${size.width}×${size.height} (replaced since the import? import the dataset again)`;
      }),
    ),
  );
  const problem = problems.find((p) => p !== undefined);
  if (problem) throw new UserError(problem);
}
