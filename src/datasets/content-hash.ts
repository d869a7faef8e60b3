import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { UserError } from '../util/errors.js';

/**
 * What identifies a dataset's content for a run key: the bytes of its manifest and side files (class
 * names), and the name and byte size of every image it uses. Changing a line, a class name or an
 * image's file changes the hash; hashing the images' bytes themselves would take minutes on a full
 * split, and a same-size replacement of an image is not a case worth that cost.
 */
export async function datasetContentHash(
  files: readonly string[],
  imageRoot: string,
  images: Iterable<string>,
): Promise<string> {
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(`${path.basename(f)}\0`);
    hash.update(await readFile(f));
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
  return hash.digest('hex');
}
