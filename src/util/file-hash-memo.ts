import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { UserError } from './errors.js';
import { sha256HexSchema, sha256OfFile } from './sha256.js';

/** A file's sha256 as of its size, mtime and inode (a file replaced by a rename has a new inode). */
const HashMemo = z.strictObject({
  file: z.string(),
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  ino: z.number().int().nonnegative(),
  sha256: sha256HexSchema,
});
type HashMemo = z.infer<typeof HashMemo>;

type Stat = { size: number; mtimeMs: number; ino: number };

async function readMemo(memoFile: string): Promise<HashMemo | undefined> {
  if (!existsSync(memoFile)) return undefined;
  try {
    const parsed = HashMemo.safeParse(JSON.parse(await readFile(memoFile, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Hex SHA-256 of `file`, remembered in `memoFile` while the file keeps its size, mtime and inode:
 * hashing a 600 MB checkpoint or the h5 files of a point-cloud release takes seconds, which a run
 * should not pay each time. A memo that does not parse (truncated, edited, an old layout) is no memo at
 * all: recomputed and rewritten, never trusted. What is not caught is an edit that keeps the size and
 * restores the mtime in place, which is deliberate rather than accidental.
 */
export async function memoizedSha256(file: string, memoFile: string): Promise<string> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: ${err.code === 'ENOENT' ? 'not found' : `cannot read (${err.code})`}`);
  });
  const memo = await readMemo(memoFile);
  if (memo && memo.file === file && memo.size === st.size && memo.mtimeMs === st.mtimeMs && memo.ino === st.ino)
    return memo.sha256;
  const sha256 = await sha256OfFile(file);
  // Only a saving for the next run: a read-only folder still works.
  await rememberSha256(file, memoFile, sha256, st).catch(() => undefined);
  return sha256;
}

/** Records a hash computed elsewhere (an import hashes its files while reading them) so the first run need not redo it. */
export async function rememberSha256(file: string, memoFile: string, sha256: string, st?: Stat): Promise<void> {
  const { size, mtimeMs, ino } = st ?? (await stat(file));
  await mkdir(path.dirname(memoFile), { recursive: true });
  await writeFileAtomic(memoFile, JSON.stringify({ file, size, mtimeMs, ino, sha256 } satisfies HashMemo));
}
