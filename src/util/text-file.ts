import { readFile } from 'node:fs/promises';
import { UserError } from './errors.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A text file the user gave: UTF-8, with a leading byte-order mark accepted and dropped; anything that is
 * not UTF-8 (Latin-1, UTF-16) is refused rather than read as mojibake. Missing or unreadable files are
 * one-line errors naming the file.
 */
export async function readTextFile(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: not found`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a folder, not a file`);
    throw new UserError(`${file}: cannot read (${code ?? (e as Error).message})`);
  }
  return decodeUtf8(bytes, file);
}

export function decodeUtf8(bytes: Uint8Array, file: string): string {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new UserError(`${file}: not UTF-8 text (save it as UTF-8)`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
