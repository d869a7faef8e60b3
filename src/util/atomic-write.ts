import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';

/**
 * A temporary name beside `path` that no other process (nor another write of this one) uses: two
 * first runs that build the same model or graph at once must not write into each other's file.
 */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The suffix `tempPathFor` adds (`x.onnx.tmp-123-ab12cd34`); kept beside it so the two cannot drift. */
const TEMP_SUFFIX = /\.tmp-\d+-[0-9a-f]+$/;

/** The file a temporary name of `tempPathFor` stands for (any other path unchanged), for messages. */
export function withoutTempSuffix(path: string): string {
  return path.replace(TEMP_SUFFIX, '');
}

/**
 * Writes `path` so that a reader (or a resumed run after a crash) sees either the old file or the
 * complete new one, never a half-written file: `write` fills a temporary file, which is fsynced and
 * renamed over `path` (rename is atomic within one file system). On failure the temporary file is
 * removed and `path` is untouched. `write` may stream (a ViT-L checkpoint is 1.7 GB).
 *
 * `beforeRename`, when given, runs on the complete, fsynced and closed temporary file just before the
 * rename (to record something about it first); if it fails, the temporary file is removed and `path` is
 * untouched.
 */
export async function writeAtomically(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
  beforeRename?: (tmp: string) => Promise<void>,
): Promise<void> {
  const tmp = tempPathFor(path);
  const handle = await open(tmp, 'w');
  try {
    await write(handle);
    await handle.sync();
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  try {
    await beforeRename?.(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `writeAtomically` for data that is already in memory. */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return writeAtomically(path, (handle) => handle.writeFile(data));
}

/** Writes all of `bytes` at the handle's position (one `write` may write fewer bytes). */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}
