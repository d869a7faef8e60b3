import { nonBlankLines, readTextFile } from '../util/text-file.js';
import { UserError } from '../util/errors.js';

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
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value))
      throw new UserError(`${this.where}: ${column}: expected a number, got "${value}"`);
    return Number(value);
  }

  /** An integer that must be one of `allowed` (a 0/1 flag, a split code). */
  code(column: string, allowed: readonly number[]): number {
    const value = this.integer(column);
    if (!allowed.includes(value))
      throw new UserError(`${this.where}: ${column}: expected one of ${allowed.join(', ')}, got ${value}`);
    return value;
  }
}

/** Builds a row, refusing a line whose column count is not the table's (the usual sign of a wrong or damaged file). */
export function tableRow(where: string, columns: readonly string[], fields: readonly string[]): TableRow {
  if (fields.length !== columns.length) {
    throw new UserError(
      `${where}: (line): expected ${columns.length} columns (${columns.join(', ')}), found ${fields.length}`,
    );
  }
  return new TableRow(where, columns, fields);
}

/** A whitespace-separated text file with a fixed column list and no header (CUB's lists). */
export async function readWhitespaceTable(path: string, columns: readonly string[]): Promise<TableRow[]> {
  const text = await readTextFile(path);
  return nonBlankLines(text, path).map(({ where, text: t }) => tableRow(where, columns, t.trim().split(/\s+/)));
}
