import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { UserError } from '../util/errors.js';
import type { ContentOf, SplitFiles } from './dataset-pin.js';

/** A file of a dataset folder as a loaded split read it: the bytes it parsed are the bytes it hashes. */
export interface ReadFile {
  path: string;
  bytes: Uint8Array;
}

/**
 * What identifies a dataset's content for a run key: the bytes of its manifest and side files (class
 * names) exactly as they were read and parsed, the name and byte size of every image it uses, and
 * `extra` parts that name other inputs by their content (the sha256 of a point-cloud h5 file).
 * Changing a line, a class name or an image's file changes the hash; hashing the images' bytes
 * themselves would take minutes on a full split, and an image replaced by one of another size is
 * caught when evaluation decodes it.
 */
export async function datasetContentHash(
  files: readonly ReadFile[],
  imageRoot: string,
  images: Iterable<string>,
  extra: readonly string[] = [],
): Promise<string> {
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(`${path.basename(f.path)}\0`);
    hash.update(f.bytes);
  }
  const limit = pLimit(16);
  const names = [...new Set(images)].sort();
  const sizes = await Promise.all(
    names.map((name) =>
      limit(async () => {
        const file = path.resolve(imageRoot, name);
        const st = await stat(file).catch(() => undefined);
        if (!st?.isFile())
          throw new UserError(`${file}: image not found (re-import the dataset or check its image folder)`);
        return st.size;
      }),
    ),
  );
  names.forEach((name, i) => {
    hash.update(`\0${name}\0${sizes[i]}`);
  });
  for (const part of extra) hash.update(`\0${part}`);
  return hash.digest('hex');
}

/**
 * `DatasetPin.load`'s content of an image dataset (REC, classification): the files it read and the
 * images its entries use, under its image root.
 */
export async function imageSplitContent(
  { read }: SplitFiles,
  { entries, imageRoot }: { entries: readonly { sample: { image: string } }[]; imageRoot: string },
): Promise<ContentOf> {
  return {
    hash: await datasetContentHash(
      read,
      imageRoot,
      entries.map((e) => e.sample.image),
    ),
  };
}
