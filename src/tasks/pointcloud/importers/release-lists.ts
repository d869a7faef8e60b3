/** The small text files that come with the point-cloud releases: file lists and class-name lists. */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../../../util/errors.js';
import { readNonBlankLines } from '../../../util/text-file.js';

/** A non-blank, trimmed line with its `file:line`. */
interface ListLine {
  where: string;
  text: string;
}

async function listLines(path: string): Promise<ListLine[]> {
  return (await readNonBlankLines(path)).map(({ where, text }) => ({ where, text: text.trim() }));
}

/**
 * The h5 files a list names (PointNet's `test_files.txt`), found inside `root`. The release lists paths
 * relative to its training script's working folder (`data/modelnet40_ply_hdf5_2048/ply_data_test0.h5`),
 * so only the file name is kept and looked up in `root`; plain names work the same way.
 */
export async function listedH5Files(listPath: string, root: string): Promise<string[]> {
  const lines = await listLines(listPath);
  if (lines.length === 0) throw new UserError(`${listPath}: lists no h5 files`);
  const firstUse = new Map<string, string>();
  const files: string[] = [];
  for (const { where, text } of lines) {
    const name = basename(text.replaceAll('\\', '/'));
    const seen = firstUse.get(name);
    if (seen !== undefined) throw new UserError(`${where}: ${name} is listed twice (first at ${seen})`);
    firstUse.set(name, where);
    const path = join(root, name);
    if (!(await stat(path).catch(() => undefined))?.isFile())
      throw new UserError(`${where}: ${name} not found in ${root}`);
    files.push(path);
  }
  return files;
}

/** Class names, one per line in label order (PointNet's `shape_names.txt`); `expected` is the release's count. */
export async function readClassNames(path: string, expected: number): Promise<string[]> {
  const lines = await listLines(path);
  if (lines.length !== expected)
    throw new UserError(`${path}: expected ${expected} class names (one per line), found ${lines.length}`);
  const firstUse = new Map<string, string>();
  for (const { where, text } of lines) {
    if (/\s/.test(text))
      throw new UserError(`${where}: "${text}": a class name has no spaces in this release (one name per line)`);
    const seen = firstUse.get(text);
    if (seen !== undefined) throw new UserError(`${where}: "${text}" is listed twice (first at ${seen})`);
    firstUse.set(text, where);
  }
  return lines.map((l) => l.text);
}
