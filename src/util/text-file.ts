import { readFile } from 'node:fs/promises';
import { UserError } from './errors.js';

/**
 * Strict UTF-8: a Latin-1 file decoded leniently would put U+FFFD into class names and paths without
 * anyone noticing. With `ignoreBOM` left false the decoder drops a leading byte-order mark, which
 * editors on Windows add to files saved "as UTF-8".
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const LENIENT_UTF8 = new TextDecoder('utf-8');

/**
 * A text file the user gave, as a string: missing or unreadable files and bytes that are not UTF-8
 * are one-line errors naming the file (and the line of the first bad byte).
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

/** `bytes` as UTF-8 text without a leading BOM; `file` names the input in the error. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const lenient = LENIENT_UTF8.decode(bytes);
    const line = lenient.slice(0, lenient.indexOf('\uFFFD')).split('\n').length;
    throw new UserError(`${file}:${line}: not UTF-8 text (Latin-1 or another encoding?): save it as UTF-8`);
  }
}

/** A non-blank line of a text file with its 1-based number and `file:line` for messages. */
export interface TextLine {
  line: number;
  where: string;
  text: string;
}

export function nonBlankLines(text: string, file: string): TextLine[] {
  return text
    .split(/\r?\n/)
    .map((t, i) => ({ line: i + 1, where: `${file}:${i + 1}`, text: t }))
    .filter(({ text: t }) => t.trim() !== '');
}

/** The non-blank lines of a text file the user gave (JSON Lines manifests, release lists). */
export async function readNonBlankLines(file: string): Promise<TextLine[]> {
  return nonBlankLines(await readTextFile(file), file);
}
