import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { sha256HexSchema } from '../util/sha256.js';

/**
 * A file's sha256 as of its byte size and mtime: what a graph-cache manifest (verified-file.ts) and the
 * checkpoint's hash memo (source-hash.ts) record, so a file whose size and mtime are unchanged need not
 * be hashed again.
 */
export const FileStamp = z.strictObject({
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  sha256: sha256HexSchema,
});
export type FileStamp = z.infer<typeof FileStamp>;

/** Whether a file's stat still has the size and mtime `stamp` was taken at. */
export function stampMatches(
  stamp: Pick<FileStamp, 'size' | 'mtimeMs'>,
  st: { size: number; mtimeMs: number },
): boolean {
  return stamp.size === st.size && stamp.mtimeMs === st.mtimeMs;
}

export type StampFileRead<T> = { state: 'ok'; value: T } | { state: 'missing' } | { state: 'unreadable' };

/**
 * A small JSON file that `schema` validates: absent, or unreadable (truncated, edited, an old layout,
 * anything that does not read, parse or validate), is said so rather than thrown: the caller decides
 * what that means.
 */
export async function readStampFile<S extends z.ZodType>(file: string, schema: S): Promise<StampFileRead<z.output<S>>> {
  if (!existsSync(file)) return { state: 'missing' };
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? { state: 'ok', value: parsed.data } : { state: 'unreadable' };
  } catch {
    return { state: 'unreadable' };
  }
}
