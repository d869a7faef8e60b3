import { readFile } from 'node:fs/promises';
import { UserError } from '../../util/errors.js';

/**
 * Strict UTF-8: a Latin-1 file decoded leniently would put U+FFFD into class names and paths
 * without anyone noticing. With `ignoreBOM` left false the decoder drops a leading BOM, which
 * editors on Windows add to files saved "as UTF-8".
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const LENIENT_UTF8 = new TextDecoder('utf-8');

/** A text file of a release (or one of ours) as a string; a missing file or non-UTF-8 bytes are the user's error. */
export async function readUtf8File(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read: ${code ?? (err as Error).message}`);
  }
  return decodeUtf8(bytes, path);
}

/** `bytes` as UTF-8 text; `path` names the file in the error, which gives the line of the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const lenient = LENIENT_UTF8.decode(bytes);
    const before = lenient.slice(0, lenient.indexOf('\uFFFD'));
    const line = before.split('\n').length;
    throw new UserError(`${path}:${line}: (text): not UTF-8 (Latin-1 or another encoding?): convert the file to UTF-8`);
  }
}

/** A non-blank line with its 1-based number and `file:line` for messages. */
export interface TextLine {
  line: number;
  where: string;
  text: string;
}

export function nonBlankLines(text: string, path: string): TextLine[] {
  return text
    .split(/\r?\n/)
    .map((t, i) => ({ line: i + 1, where: `${path}:${i + 1}`, text: t }))
    .filter(({ text: t }) => t.trim() !== '');
}

/**
 * One record of a table file (CUB's whitespace-separated lists, Waterbirds' CSV), read by column
 * name so that every bad value is reported as `file:line: column: problem`.
 */
export class TableRow {
  constructor(
    readonly where: string,
    private readonly columns: readonly string[],
    private readonly fields: readonly string[],
  ) {}

  text(column: string): string {
    const i = this.columns.indexOf(column);
    if (i < 0) throw new Error(`TableRow: no column ${column}`);
    return this.fields[i]!;
  }

  integer(column: string): number {
    const value = this.text(column);
    if (!/^[+-]?\d+$/.test(value)) throw new UserError(`${this.where}: ${column}: expected an integer, got "${value}"`);
    return Number(value);
  }

  number(column: string): number {
    const value = this.text(column);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) throw new UserError(`${this.where}: ${column}: expected a number, got "${value}"`);
    return Number(value);
  }

  /** An integer that must be one of `allowed` (a 0/1 flag, a split code). */
  code(column: string, allowed: readonly number[]): number {
    const value = this.integer(column);
    if (!allowed.includes(value)) throw new UserError(`${this.where}: ${column}: expected one of ${allowed.join(', ')}, got ${value}`);
    return value;
  }
}

/** Builds a row, refusing a line whose column count is not the table's (the usual sign of a wrong or damaged file). */
export function tableRow(where: string, columns: readonly string[], fields: readonly string[]): TableRow {
  if (fields.length !== columns.length) {
    throw new UserError(`${where}: (line): expected ${columns.length} columns (${columns.join(', ')}), found ${fields.length}`);
  }
  return new TableRow(where, columns, fields);
}

/** A whitespace-separated text file with a fixed column list and no header (CUB's lists). */
export async function readWhitespaceTable(path: string, columns: readonly string[]): Promise<TableRow[]> {
  const text = await readUtf8File(path);
  return nonBlankLines(text, path).map(({ where, text: t }) => tableRow(where, columns, t.trim().split(/\s+/)));
}
