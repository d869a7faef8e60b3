import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `data` to `path` so that a reader (or a resumed run after a crash) sees either the old file
 * or the complete new one, never a half-written file: the bytes go to `<path>.tmp-<pid>`, are
 * fsynced, and the temp file is renamed over `path` (rename is atomic within one file system).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(tmp, path);
}
