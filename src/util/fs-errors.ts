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
    const e = err as NodeJS.ErrnoException;
    if (!(err instanceof UserError) && e?.code && e.code in WORDS && typeof e.path === 'string') {
      throw new UserError(`${withoutTempSuffix(e.path)}: ${WORDS[e.code]}`);
    }
    throw err;
  }
}
