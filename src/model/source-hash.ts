import path from 'node:path';
import { memoizedSha256, rememberSha256 as rememberFileSha256 } from '../util/file-hash-memo.js';

/** `<cacheDir>/source-hash.json`: the checkpoint's sha256 as of the file's size, mtime and inode. */
function memoPath(cacheDir: string): string {
  return path.join(cacheDir, 'source-hash.json');
}

/** Hex SHA-256 of a checkpoint's weights, remembered in its cache folder (see memoizedSha256). */
export function checkpointSha256(weightsFile: string, cacheDir: string): Promise<string> {
  return memoizedSha256(weightsFile, memoPath(cacheDir));
}

/** Records a hash computed elsewhere (import hashes the weights while reading them) so the first run need not redo it. */
export function rememberSha256(
  weightsFile: string,
  cacheDir: string,
  sha256: string,
  st?: { size: number; mtimeMs: number; ino: number },
): Promise<void> {
  return rememberFileSha256(weightsFile, memoPath(cacheDir), sha256, st);
}
