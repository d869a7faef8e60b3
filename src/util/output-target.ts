import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ZodTypeAny } from 'zod';
import { isStaleTemp } from './atomic-write.js';
import { UserError } from './errors.js';
import { fsCodeWords } from './fs-errors.js';

/**
 * Where a command will write, checked before it reads any input: a path that is a file, below a file,
 * or on a read-only or unwritable file system is refused at once, in words (not as the ENOENT of a
 * write that fails after minutes of work). A full disk cannot be seen in advance: the writes report it.
 */

async function statOf(p: string) {
  return stat(p).catch(() => undefined);
}

/** `dir` is a folder (or can be made one) that this process may write into; `flag` names the option. */
export async function checkWritableFolder(dir: string, flag: string): Promise<void> {
  const target = path.resolve(dir);
  let existing = target;
  let st = await statOf(existing);
  while (!st && path.dirname(existing) !== existing) {
    existing = path.dirname(existing);
    st = await statOf(existing);
  }
  if (!st) throw new UserError(`${flag} ${dir}: no part of this path exists`);
  if (!st.isDirectory()) {
    throw new UserError(
      existing === target
        ? `${flag} ${dir}: is a file, not a folder`
        : `${flag} ${dir}: ${existing} is a file, not a folder`,
    );
  }
  try {
    await access(existing, constants.W_OK);
  } catch (err) {
    throw new UserError(
      `${flag} ${dir}: cannot write in ${existing} (${fsCodeWords((err as NodeJS.ErrnoException).code)})`,
    );
  }
}

/** `file` can be written: not a folder, in an existing folder this process may write into. */
export async function checkWritableFile(file: string, flag: string): Promise<void> {
  const target = path.resolve(file);
  if ((await statOf(target))?.isDirectory()) throw new UserError(`${flag} ${file}: is a folder, expected a file`);
  const parent = path.dirname(target);
  const st = await statOf(parent);
  if (!st) throw new UserError(`${flag} ${file}: its folder ${parent} does not exist`);
  if (!st.isDirectory()) throw new UserError(`${flag} ${file}: ${parent} is a file, not a folder`);
  try {
    await access(parent, constants.W_OK);
  } catch (err) {
    throw new UserError(
      `${flag} ${file}: cannot write in ${parent} (${fsCodeWords((err as NodeJS.ErrnoException).code)})`,
    );
  }
}

/**
 * `dir` is missing, empty, or already one of falip's folders of this kind (`isOurs` looks at its entry
 * names), and writable: falip never writes into a folder it did not make, so a user's folder, or `/`,
 * is refused before anything is written. A lock or temporary files a killed falip process left do not
 * make a folder the user's.
 */
export async function checkOwnFolder(
  dir: string,
  flag: string,
  what: string,
  isOurs: (names: readonly string[]) => boolean | Promise<boolean>,
): Promise<void> {
  await checkWritableFolder(dir, flag);
  const st = await statOf(dir);
  if (!st) return;
  const names = (await readdir(dir)).filter((n) => n !== '.lock' && !isStaleTemp(n));
  if (names.length === 0 || (await isOurs(names))) return;
  throw new UserError(
    `${flag} ${dir}: not empty and not ${what}: give a new or empty folder (falip never writes into a folder it did not make)`,
  );
}

/**
 * `dir` (entries `names`) is a folder a falip command wrote before: it holds nothing but names the
 * command writes, and its `marker` file parses with `schema`. Names alone are not enough: table.md or
 * view-0.png are names a user's own files may have.
 */
export async function isFolderWrittenBy(
  dir: string,
  names: readonly string[],
  writes: (name: string) => boolean,
  marker: string,
  schema: ZodTypeAny,
): Promise<boolean> {
  if (!names.includes(marker) || !names.every(writes)) return false;
  try {
    return schema.safeParse(JSON.parse(await readFile(path.join(dir, marker), 'utf8'))).success;
  } catch {
    return false;
  }
}
