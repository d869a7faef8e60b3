import type { Dirent } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

/**
 * What an entry is, a symbolic link followed to what it points at: a dataset root is the user's, who
 * links class folders and images in from elsewhere as a matter of course (the releases' own loaders,
 * os.listdir and PIL, follow links too). A link that points nowhere is an error naming it.
 */
async function entryKind(dir: string, e: Dirent): Promise<'folder' | 'file' | 'other'> {
  if (!e.isSymbolicLink()) return e.isDirectory() ? 'folder' : e.isFile() ? 'file' : 'other';
  const path = join(dir, e.name);
  const target = await stat(path).catch(() => undefined);
  if (!target) throw new UserError(`${path}: a link to ${await readlink(path).catch(() => '?')}, which does not exist`);
  return target.isDirectory() ? 'folder' : target.isFile() ? 'file' : 'other';
}

/**
 * The entries of a release folder, sorted by code unit (Python's `sorted`, which the releases'
 * own loaders use for label order), symbolic links followed. Hidden entries (`.DS_Store`, `._x` from
 * macOS archives) are not data.
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
  const visible = entries.filter((e) => !e.name.startsWith('.'));
  const kinds = await Promise.all(visible.map((e) => entryKind(dir, e)));
  return visible
    .filter((_, i) => kinds[i] === (kind === 'folders' ? 'folder' : 'file'))
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
