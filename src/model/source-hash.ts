import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.js';
import { sha256OfFile } from '../util/sha256.js';
import { FileStamp, readStampFile, stampMatches } from './file-stamp.js';

/** `<cacheDir>/source-hash.json`: the checkpoint's sha256 as of the file's size and mtime. */
const SourceHashMemo = FileStamp.extend({ file: z.string() });
type SourceHashMemo = z.infer<typeof SourceHashMemo>;

function memoPath(cacheDir: string): string {
  return path.join(cacheDir, 'source-hash.json');
}

/**
 * Hex SHA-256 of `weightsFile`. Hashing a 600 MB checkpoint takes a second, so the result is
 * remembered in the cache folder while the file's size and mtime stay the same; a memo that does not
 * parse (truncated, edited, an old layout) is no memo at all: recomputed and rewritten, never trusted.
 */
export async function checkpointSha256(weightsFile: string, cacheDir: string): Promise<string> {
  const st = await stat(weightsFile);
  const memo = await readStampFile(memoPath(cacheDir), SourceHashMemo);
  if (memo.state === 'ok' && memo.value.file === weightsFile && stampMatches(memo.value, st)) return memo.value.sha256;
  const sha256 = await sha256OfFile(weightsFile);
  // Only a saving for the next run: a read-only cache folder whose graphs are complete still works.
  await rememberSha256(weightsFile, cacheDir, sha256, st).catch(() => undefined);
  return sha256;
}

/** Records a hash computed elsewhere (import hashes the weights while reading them) so the first run need not redo it. */
export async function rememberSha256(
  weightsFile: string,
  cacheDir: string,
  sha256: string,
  st?: { size: number; mtimeMs: number },
): Promise<void> {
  const { size, mtimeMs } = st ?? (await stat(weightsFile));
  await mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(
    memoPath(cacheDir),
    JSON.stringify({ file: weightsFile, size, mtimeMs, sha256 } satisfies SourceHashMemo),
  );
}
