import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes `text` as `name` (manifest.jsonl, classes.json) of a dataset folder and records its sha256 in
 * the folder's dataset.json, as an importer that wrote these bytes would: the tests' stand-in for a
 * faulty converter. Written without the digest, the folder is one that mixes two imports, which every
 * reader refuses before seeing the bad line.
 */
export function writeDatasetFile(dir: string, name: string, text: string): void {
  writeFileSync(path.join(dir, name), text);
  const infoFile = path.join(dir, 'dataset.json');
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { files?: Record<string, string> };
  info.files = { ...info.files, [name]: createHash('sha256').update(text).digest('hex') };
  writeFileSync(infoFile, `${JSON.stringify(info, null, 2)}\n`);
}
