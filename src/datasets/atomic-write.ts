import { rename, writeFile } from 'node:fs/promises';

/**
 * Writes through a temporary name and renames it into place, so a crash or Ctrl-C never leaves a
 * half-written manifest that would later read as a valid but shorter dataset.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
