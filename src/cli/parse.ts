import type { BoxXYWH } from '../image/box.js';
import { UserError } from '../util/errors.js';

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
