import { resolve } from 'node:path';
import { sha256Hex, sha256OfFile } from '../util/sha256.js';

/** One entry of dataset.json's `sources`. */
export interface SourceFile {
  file: string;
  sha256: string;
}

export async function fileSource(path: string): Promise<SourceFile> {
  return { file: resolve(path), sha256: await sha256OfFile(path) };
}

/**
 * A folder of many small files read one by one (StanfordDogs' 20,580 XML files, ImageNet-S's
 * masks) as one source, so dataset.json stays small: the sha256 of its `sha256sum`-style listing,
 * one `<sha256>  <path relative to the folder>\n` line per file, sorted by path.
 */
export function folderSource(folder: string, files: readonly { path: string; sha256: string }[]): SourceFile {
  const listing = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return { file: `${resolve(folder)}/`, sha256: sha256Hex(listing) };
}
