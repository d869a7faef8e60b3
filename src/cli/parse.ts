import type { BoxXYWH } from '../image/box.js';
import { UserError } from '../util/errors.js';

/**
 * Every command-line value falip reads that is more than a string: one place for the wording of
 * "expected …", and each failure one line naming the flag and what it got (exit 2).
 */

/** `x,y,w,h` in original pixels. */
export function parseBox(flag: string, text: string): BoxXYWH {
  const fields = text.split(',').map((s) => s.trim());
  const parts = fields.map(Number);
  if (parts.length !== 4 || fields.some((f) => f === '') || parts.some((n) => !Number.isFinite(n)))
    throw new UserError(`${flag} ${text}: expected x,y,w,h (4 numbers)`);
  return [parts[0]!, parts[1]!, parts[2]!, parts[3]!];
}

export function parseNumber(
  flag: string,
  text: string,
  check: (n: number) => boolean = Number.isFinite,
  expected = 'a number',
): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new UserError(`${flag} ${text}: expected ${expected}`);
  return n;
}

export function parseNumberList(
  flag: string,
  text: string,
  check?: (n: number) => boolean,
  expected?: string,
): number[] {
  return text.split(',').map((s) => parseNumber(flag, s.trim(), check, expected));
}

export function parsePositiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < 1)
    throw new UserError(`${flag} ${value}: expected a positive integer`);
  return n;
}

export function parseInteger(flag: string, value: string): number {
  return parseNumber(flag, value, Number.isInteger, 'an integer');
}

/** `--shard 2/8` → shard 2 of 8 (0-based, so 0..7). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || count < 1 || index >= count)
    throw new UserError(
      `--shard ${text}: expected K/N with 0 ≤ K < N, e.g. 0/8 (shards are numbered from 0, like SLURM array ids)`,
    );
  return { index, count };
}

/** Lists from `--x a,b c` (commas and spaces both separate): one entry per item, empty ones dropped. */
export function listValues(values: readonly string[] | string | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return (typeof values === 'string' ? [values] : values)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
