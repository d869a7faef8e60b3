import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { modelsRoot } from '../util/repo-paths.js';
import { sha256Hex, sha256HexSchema } from '../util/sha256.js';
import { describeIssue, safeParseWith } from '../util/schema-check.js';
import { canonicalHash } from './model-identity.js';

/** models/<name>/model.json: a registered model, where its checkpoint folder is, and what it was when imported. */
const ModelRecord = z.strictObject({
  name: z.string(),
  source: z.string(),
  /** sha256 of model.safetensors at import. */
  sha256: sha256HexSchema,
  /** `configHash` of config.json at import: with sha256, the model's identity. */
  config_hash: sha256HexSchema,
  arch: z.string(),
  dims: z.record(z.string(), z.number().int().positive()),
  /**
   * How falip generated the weights when they are random (`falip model random`/`tiny`), else null; absent in
   * records of older falip versions (the weights file itself still says, see ModelIdentity).
   */
  random_weights: z.string().nullable().optional(),
});
export type ModelRecord = z.infer<typeof ModelRecord>;

/**
 * As stored: the record plus the sha256 of its own canonical JSON, so a record edited or damaged into
 * something that still parses (a different sha256, a changed source) is noticed rather than trusted.
 */
const StoredModelRecord = ModelRecord.extend({ checksum: sha256HexSchema });

/** What models/<name>/model.json holds: nothing, a usable record, or a damaged one (and why). */
export type ModelRecordState =
  | { state: 'missing' }
  | { state: 'ok'; record: ModelRecord }
  | { state: 'corrupt'; file: string; reason: string };

/** A model as the rest of falip sees it: where the checkpoint is and where its graphs are cached. */
export interface ResolvedModel {
  name: string;
  sourceDir: string;
  cacheDir: string;
  /** For a registered model, its identity as imported: opening it checks the checkpoint still matches. */
  registered?: { sha256: string; configHash: string };
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The models folder (FALIP_MODELS or models/ in the checkout); a UserError when a file is in its place. */
export function modelsFolder(): string {
  const root = modelsRoot();
  if (existsSync(root) && !statSync(root).isDirectory()) {
    throw new UserError(
      `${root}: the models folder is a file${process.env.FALIP_MODELS ? ' (set by FALIP_MODELS)' : ''}; expected a folder`,
    );
  }
  return root;
}

export function modelDir(name: string): string {
  return path.join(modelsFolder(), name);
}

export function modelRecordPath(name: string): string {
  return path.join(modelDir(name), 'model.json');
}

export async function inspectModelRecord(name: string): Promise<ModelRecordState> {
  const file = modelRecordPath(name);
  if (!existsSync(file)) return { state: 'missing' };
  const corrupt = (reason: string): ModelRecordState => ({ state: 'corrupt', file, reason });
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return corrupt('not valid JSON');
  }
  const parsed = safeParseWith(StoredModelRecord, json);
  if (!parsed.success) return corrupt(describeIssue(parsed.error));
  const { checksum, ...record } = parsed.data;
  if (canonicalHash(record) !== checksum) return corrupt('its checksum does not match its contents');
  if (record.name !== name) return corrupt(`it names model '${record.name}'`);
  return { state: 'ok', record };
}

/** The record of a registered model, undefined when there is none; a damaged one is a UserError saying how to repair it. */
export async function readModelRecord(name: string): Promise<ModelRecord | undefined> {
  const found = await inspectModelRecord(name);
  if (found.state === 'missing') return undefined;
  if (found.state === 'corrupt') {
    throw new UserError(
      `${found.file}: corrupt model record (${found.reason}); re-import it: falip model import DIR --name ${name} --force`,
    );
  }
  return found.record;
}

export async function writeModelRecord(rec: ModelRecord): Promise<void> {
  await mkdir(modelDir(rec.name), { recursive: true });
  const stored = { ...rec, checksum: canonicalHash(rec) };
  await writeFileAtomic(modelRecordPath(rec.name), `${JSON.stringify(stored, null, 2)}\n`);
}

/**
 * `--model` takes a registered name or a checkpoint folder. A folder that is not registered gets a
 * cache folder named after its absolute path, so two different folders never share built graphs.
 */
export async function resolveModel(spec: string): Promise<ResolvedModel> {
  if (NAME_PATTERN.test(spec) && !spec.includes('/')) {
    const rec = await readModelRecord(spec);
    if (rec) {
      if (!existsSync(rec.source)) {
        throw new UserError(
          `model '${rec.name}': its checkpoint folder ${rec.source} is gone; re-import it: falip model import DIR --name ${rec.name} --force`,
        );
      }
      return {
        name: rec.name,
        sourceDir: rec.source,
        cacheDir: modelDir(rec.name),
        registered: { sha256: rec.sha256, configHash: rec.config_hash },
      };
    }
  }
  const dir = path.resolve(spec);
  if (!existsSync(dir)) {
    throw new UserError(`model '${spec}': neither a registered model (falip model list) nor a folder`);
  }
  if (!statSync(dir).isDirectory())
    throw new UserError(`model '${spec}': ${dir} is a file; expected a checkpoint folder or a registered name`);
  // The path's tail keeps the folder recognisable; its hash keeps two long paths with the same tail apart.
  const slug = `${dir
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+/, '')
    .slice(-60)}-${sha256Hex(dir).slice(0, 8)}`;
  return { name: dir, sourceDir: dir, cacheDir: path.join(modelsFolder(), 'by-path', slug) };
}
