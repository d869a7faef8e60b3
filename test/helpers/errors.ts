import { expect } from 'vitest';
import { UserError } from '../../src/util/errors.js';

/**
 * The message of the UserError that `run` rejects with (a promise) or throws (a function); resolving,
 * or failing with any other error, fails the test. The message must be one line (the CLI prints it
 * after `falip: `) holding every needle.
 */
export async function userErrorMessage(run: Promise<unknown> | (() => unknown), ...needles: string[]): Promise<string> {
  let error: unknown;
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(UserError);
  const message = (error as UserError).message;
  expect(message).not.toContain('\n');
  for (const needle of needles) expect(message).toContain(needle);
  return message;
}

/** `s` as a literal inside a RegExp (every metacharacter escaped). */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
