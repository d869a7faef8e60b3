import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { isAlive } from './file-lock.js';

/** Six hex digits of this machine's name: a temporary name says which host's process made it. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

/**
 * A temporary name beside `path` that no other process (nor another write of this one) uses: two
 * first runs that build the same model or graph at once must not write into each other's file. It
 * encodes the writer's pid and host (`x.onnx.tmp-123-<host><random>`), so that the temporary files of a
 * killed process can be told from those of a live one (`removeStaleTemps`). `kind` names what the
 * path is for: `tmp` (being written) or `old` (a folder moved aside to be replaced).
 */
export function tempPathFor(path: string, kind: 'tmp' | 'old' = 'tmp'): string {
  return `${path}.${kind}-${process.pid}-${HOST_TAG}${randomBytes(4).toString('hex')}`;
}

/**
 * The suffix `tempPathFor` adds; kept beside it so the two cannot drift. Names of older falip versions
 * carry no host tag (8 hex digits only).
 */
const TEMP_SUFFIX = /\.(tmp|old)-(\d+)-([0-9a-f]{8}|[0-9a-f]{14})$/;

/** What a temporary name says about itself, or null for any other name. */
export function parseTempName(
  name: string,
): { target: string; kind: 'tmp' | 'old'; pid: number; host?: string } | null {
  const m = TEMP_SUFFIX.exec(name);
  if (!m) return null;
  return {
    target: name.slice(0, m.index),
    kind: m[1] as 'tmp' | 'old',
    pid: Number(m[2]),
    ...(m[3]!.length === 14 && { host: m[3]!.slice(0, 6) }),
  };
}

/**
 * Whether the process that made a temporary name is gone: it ran on this host (or the name predates
 * host tags) and no process has its pid. A name of a live process, or of another machine sharing the
 * folder, is never touched: that writer may still be using it.
 */
export function isStaleTemp(name: string): boolean {
  const t = parseTempName(name);
  return t !== null && (t.host === undefined || t.host === HOST_TAG) && !isAlive(t.pid);
}

/**
 * Removes the temporary files and folders that killed processes left in `dir` (a graph build cut
 * short leaves hundreds of MB), when the folder is next opened; says so on stderr. `keep` may claim a
 * stale name for itself instead (an import's old folder is restored, not removed). A missing folder
 * has nothing to clean.
 */
export async function removeStaleTemps(dir: string, keep: (name: string) => boolean = () => false): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => isStaleTemp(n) && !keep(n));
  for (const n of stale) await rm(path.join(dir, n), { recursive: true, force: true });
  if (stale.length > 0)
    process.stderr.write(
      `falip: ${dir}: removed ${stale.length} temporary file(s) left by processes that no longer run (${stale.join(', ')})\n`,
    );
  return stale;
}

/**
 * The path a temporary name of `tempPathFor` stands for, for messages: every temporary part of it
 * (a file in a staging folder has two) is dropped; any other path is unchanged.
 */
export function withoutTempSuffix(path: string): string {
  return path.replace(/\.(tmp|old)-\d+-(?:[0-9a-f]{14}|[0-9a-f]{8})(?=[/\\]|$)/g, '');
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
    throw withPath(err, path);
  }
  try {
    await beforeRename?.(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * A file handle's errors (a full disk while writing, say) carry no path, unlike those of calls given
 * one; `path` is added so that the caller can say which file could not be written.
 */
function withPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && e.path === undefined) e.path = path;
  return err;
}

/** `writeAtomically` for data that is already in memory. */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return writeAtomically(path, (handle) => handle.writeFile(data));
}

/**
 * Writes all of `bytes` (one `write` may write fewer bytes) at the handle's position, or from byte
 * `position` of the file when given.
 */
export async function writeAll(handle: FileHandle, bytes: Uint8Array, position?: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const at = position === undefined ? null : position + done;
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, at);
    done += bytesWritten;
  }
}
