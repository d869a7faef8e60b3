import { withoutTempSuffix } from './atomic-write.js';
import { UserError } from './errors.js';

/** What a file-system error code means to the user, e.g. `permission denied`. */
const WORDS: Record<string, string> = {
  ENOENT: 'not found',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of this path is a file, not a folder',
  EISDIR: 'is a folder, expected a file',
  EEXIST: 'exists and is not a folder',
};

/** A file-system error code in words (`EROFS` → `read-only file system`); unknown codes as they are. */
export function fsCodeWords(code: string | undefined): string {
  return (code && WORDS[code]) ?? code ?? 'unknown error';
}

/** Whether `err` is a file-system error a user causes (full disk, read-only, missing or misplaced path). */
export function isUserFsError(err: unknown): err is NodeJS.ErrnoException & { code: string; path: string } {
  const e = err as NodeJS.ErrnoException;
  return !(err instanceof UserError) && typeof e?.code === 'string' && e.code in WORDS && typeof e.path === 'string';
}

/**
 * Runs `work`, turning the file-system errors a user causes (a read-only or missing folder, a full
 * disk, a file where a folder belongs) into one-line UserErrors naming the path. Other errors pass
 * through unchanged: they are bugs and keep their stack trace. Temporary names of atomic writes
 * (`x.onnx.tmp-123-ab12cd34`) are reported as the file they stand for.
 */
export async function withFsErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUserFsError(err)) throw new UserError(`${withoutTempSuffix(err.path)}: ${WORDS[err.code]}`);
    throw err;
  }
}
