import type { z } from 'zod';
import { UserError } from './errors.js';

/**
 * falip's words for zod's commonest issues: a missing field reads "missing" rather than "expected
 * string, received undefined"; a value outside a choice lists the choices as a user types them; an
 * unknown key is named (callers that know why a key is there add a hint).
 */
const MESSAGES = {
  error: (issue: { code: string; input?: unknown; values?: readonly unknown[]; keys?: readonly string[] }) => {
    if (issue.code === 'invalid_type' && issue.input === undefined) return 'missing';
    if (issue.code === 'invalid_value' && issue.values)
      return `expected one of ${issue.values.map(String).join(', ')}, got ${JSON.stringify(issue.input)}`;
    if (issue.code === 'unrecognized_keys' && issue.keys)
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return undefined;
  },
};

/** The first problem of a failed parse as `<field path>: <problem>`, e.g. `gold[2].box: expected 4 numbers`. */
export function describeIssue(error: z.ZodError): string {
  return `${fieldPath(firstIssuePath(error))}: ${issueMessage(error)}`;
}

/** The first problem's message alone, e.g. `expected 4 numbers`. */
export function issueMessage(error: z.ZodError): string {
  return error.issues[0]!.message.replace(/^Invalid input: /, '');
}

/** The first problem's field path, for callers that locate it themselves (e.g. a YAML line). */
export function firstIssuePath(error: z.ZodError): readonly PropertyKey[] {
  return error.issues[0]!.path;
}

/** `schema.safeParse` with falip's messages: a result, for callers that decide what a bad value means. */
export function safeParseWith<S extends z.ZodType>(schema: S, value: unknown): z.ZodSafeParseResult<z.output<S>> {
  return schema.safeParse(value, MESSAGES);
}

/**
 * Validates `value` against `schema`; the first problem becomes a UserError
 * `<where>: <field path>: <problem>`, e.g. `manifest.jsonl:17: gold[2].box: expected 4 numbers`,
 * so the user can go straight to the offending field.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = safeParseWith(schema, value);
  if (result.success) return result.data;
  throw new UserError(`${where}: ${describeIssue(result.error)}`);
}

/** `['gold', 2, 'box']` → `gold[2].box`; the empty path (the whole value) → `(line)`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(line)';
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/** Parses one line of a JSON Lines file, naming `file:line` when it is not JSON. */
export function parseJsonLine(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${where}: (line): not valid JSON: ${(err as Error).message}`);
  }
}
