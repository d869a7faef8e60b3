import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { UserError } from '../util/errors.js';

/**
 * The entries of a release folder, sorted by code unit (Python's `sorted`, which the releases'
 * own loaders use for label order). Hidden entries (`.DS_Store`, `._x` from macOS archives) are not data.
 */
export async function listEntries(dir: string, kind: 'folders' | 'files', what: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `${dir}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'not a folder' : `cannot read: ${code}`} (expected ${what})`,
    );
  }
  return entries
    .filter((e) => !e.name.startsWith('.') && (kind === 'folders' ? e.isDirectory() : e.isFile()))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The same class folders must exist on both sides (images and their annotations). */
export function requireSameFolders(a: readonly string[], aDir: string, b: readonly string[], bDir: string): void {
  const inB = new Set(b);
  const inA = new Set(a);
  const onlyA = a.find((f) => !inB.has(f));
  if (onlyA !== undefined) throw new UserError(`${aDir}/${onlyA}: folder: no matching folder ${bDir}/${onlyA}`);
  const onlyB = b.find((f) => !inA.has(f));
  if (onlyB !== undefined) throw new UserError(`${bDir}/${onlyB}: folder: no matching folder ${aDir}/${onlyB}`);
}

/** `name` without its last extension. */
export function stem(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
