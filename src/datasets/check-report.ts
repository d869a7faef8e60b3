import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { sha256Hex } from '../util/sha256.js';
import type { TextLine } from '../util/text-file.js';
import { DATASET_INFO_FILE, type DatasetInfo } from './dataset-info.js';

/** What `falip data check` reports of a dataset folder, whatever its task. */
export interface CheckReport<C extends object = object> {
  /** No errors; warnings do not fail a check. */
  ok: boolean;
  /** `file:line: field: problem`. */
  errors: string[];
  warnings: string[];
  /** Over the lines that passed the schema. */
  counts: C;
}

/** A manifest line that passed its schema, with its `file:line`. */
export interface ManifestEntry<S> {
  where: string;
  sample: S;
}

/**
 * Every non-blank line of a manifest (`readNonBlankLines`, or `nonBlankLines` of text already read)
 * through `parse`: a line that fails its schema is an error and skipped, a repeated id is an error
 * (`duplicate <idWord>`) and kept; `check` then sees each kept line in order, so a line's problems stay
 * together in `errors`. `data check` lists them all; evaluation runs the same checks and stops at the
 * first (`throwFirstError`), so nothing a check would refuse is ever scored.
 */
export function checkManifestLines<S extends { id: string }>(
  lines: readonly TextLine[],
  parse: (text: string, where: string) => S,
  idWord: string,
  errors: string[],
  check: (entry: ManifestEntry<S>) => void = () => undefined,
): ManifestEntry<S>[] {
  const entries: ManifestEntry<S>[] = [];
  const firstLineOfId = new Map<string, string>();
  for (const { where, text } of lines) {
    const sample = recordUserErrorSync(errors, () => parse(text, where));
    if (sample === undefined) continue;
    const first = firstLineOfId.get(sample.id);
    if (first !== undefined) errors.push(`${where}: id: duplicate ${idWord} ${sample.id} (first at ${first})`);
    else firstLineOfId.set(sample.id, where);
    const entry = { where, sample };
    check(entry);
    entries.push(entry);
  }
  return entries;
}

/** `recordUserError` of work that is not asynchronous. */
export function recordUserErrorSync<T>(errors: string[], read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    errors.push(err.message);
    return undefined;
  }
}

/**
 * Evaluation's side of the checks: the first error stops it (one line, with how many more `falip data
 * check` lists), before any record is written.
 */
export function throwFirstError(errors: readonly string[]): void {
  if (errors.length === 0) return;
  const more = errors.length - 1;
  throw new UserError(
    more === 0 ? errors[0]! : `${errors[0]} (and ${more} more problem(s): falip data check lists them)`,
  );
}

/**
 * A file of a dataset folder against the sha256 its dataset.json recorded when the import wrote them
 * together; the problem, if it is not that file. Folders of older falip versions record none.
 */
export function digestProblem(dir: string, name: string, bytes: Uint8Array, info: DatasetInfo): string | undefined {
  const recorded = info.files?.[name];
  if (recorded === undefined || recorded === sha256Hex(bytes)) return undefined;
  return `${join(dir, name)}: not the file its import wrote (its sha256 is not the one in ${join(dir, DATASET_INFO_FILE)}): the folder mixes two imports, or was edited; import the dataset again`;
}

/** `data check`: every file the folder's dataset.json records, against its sha256 (`digestProblem`). */
export async function folderDigestProblems(dir: string, info: DatasetInfo): Promise<string[]> {
  const problems: string[] = [];
  for (const name of Object.keys(info.files ?? {})) {
    const bytes = await readFile(join(dir, name)).catch(() => undefined);
    const problem = bytes && digestProblem(dir, name, bytes, info);
    if (problem) problems.push(problem);
  }
  return problems;
}

/** `read()`'s value, or undefined with its UserError's message added to `errors` (other errors propagate). */
export async function recordUserError<T>(errors: string[], read: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    errors.push(err.message);
    return undefined;
  }
}
