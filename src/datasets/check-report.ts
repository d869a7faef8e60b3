import { UserError } from '../util/errors.js';
import { readNonBlankLines } from '../util/text-file.js';

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
 * Every non-blank line of `manifest` through `parse`: a line that fails its schema is an error and
 * skipped, a repeated id is an error (`duplicate <idWord>`) and kept; `check` then sees each kept
 * line in order, so a line's problems stay together in `errors`.
 */
export async function checkManifestLines<S extends { id: string }>(
  manifest: string,
  parse: (text: string, where: string) => S,
  idWord: string,
  errors: string[],
  check: (entry: ManifestEntry<S>) => void = () => undefined,
): Promise<ManifestEntry<S>[]> {
  const entries: ManifestEntry<S>[] = [];
  const firstLineOfId = new Map<string, string>();
  for (const { where, text } of await readNonBlankLines(manifest)) {
    const sample = await recordUserError(errors, () => parse(text, where));
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
