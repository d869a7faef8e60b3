import path from 'node:path';
import { z } from 'zod';

/** Whether `name` stays inside the folder it is relative to: not absolute, no `..` step out of it. */
export function staysInside(name: string): boolean {
  if (path.isAbsolute(name) || /^[A-Za-z]:/.test(name)) return false;
  return !path.normalize(name).split(/[\\/]/).includes('..');
}

/** An image named relative to a dataset's image folder; one that escapes it is refused, never opened. */
export const relativeImagePath = z
  .string()
  .min(1)
  .refine(staysInside, "must stay inside the image folder (no '..' or absolute path)");
