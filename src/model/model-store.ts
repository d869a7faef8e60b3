import { existsSync } from 'node:fs';
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { modelsRoot } from '../util/repo-paths.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { parseJsonLine, parseWith } from '../util/schema-check.js';

/** models/<name>/model.json: a registered model and where its checkpoint folder is. */
const ModelRecord = z.object({
  name: z.string(),
  source: z.string(),
  sha256: z.string(),
  arch: z.string(),
  dims: z.record(z.string(), z.number()),
});
export type ModelRecord = z.infer<typeof ModelRecord>;

/** A model as the rest of falip sees it: where the checkpoint is and where its graphs are cached. */
export interface ResolvedModel {
  name: string;
  sourceDir: string;
  cacheDir: string;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function modelDir(name: string): string {
  return path.join(modelsRoot(), name);
}

export async function readModelRecord(name: string): Promise<ModelRecord | undefined> {
  const file = path.join(modelDir(name), 'model.json');
  if (!existsSync(file)) return undefined;
  return parseWith(ModelRecord, parseJsonLine(await readFile(file, 'utf8'), file), file);
}

export async function writeModelRecord(rec: ModelRecord): Promise<void> {
  await mkdir(modelDir(rec.name), { recursive: true });
  await writeFileAtomic(path.join(modelDir(rec.name), 'model.json'), `${JSON.stringify(rec, null, 2)}\n`);
}

/**
 * `--model` takes a registered name or a checkpoint folder. A folder that is not registered gets a
 * cache folder named after its absolute path, so two different folders never share built graphs.
 */
export async function resolveModel(spec: string): Promise<ResolvedModel> {
  if (NAME_PATTERN.test(spec) && !spec.includes('/')) {
    const rec = await readModelRecord(spec);
    if (rec) return { name: rec.name, sourceDir: rec.source, cacheDir: modelDir(rec.name) };
  }
  const dir = path.resolve(spec);
  if (!existsSync(dir)) {
    throw new UserError(`model '${spec}': neither a registered model (falip model list) nor a folder`);
  }
  const slug = dir.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+/, '').slice(-60);
  return { name: dir, sourceDir: dir, cacheDir: path.join(modelsRoot(), 'by-path', slug) };
}
