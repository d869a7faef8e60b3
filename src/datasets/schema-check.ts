import type { z } from 'zod';
import { UserError } from '../util/errors.js';

/**
 * Validates `value` against `schema`; the first problem becomes a UserError
 * `<where>: <field path>: <problem>`, e.g. `manifest.jsonl:17: gold[2].box: expected 4 numbers`,
 * so the user can go straight to the offending field.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value, { error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'missing' : undefined) });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new UserError(`${where}: ${fieldPath(issue.path)}: ${issue.message.replace(/^Invalid input: /, '')}`);
}

/** `['gold', 2, 'box']` → `gold[2].box`; the empty path (the whole value) → `(line)`. */
function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(line)';
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('');
}

/** Parses one line of a JSON Lines file, naming `file:line` when it is not JSON. */
export function parseJsonLine(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${where}: (line): not valid JSON: ${(err as Error).message}`);
  }
}
