/**
 * Shared test helper: a `tiny`-arch CLIP folder with deterministic random weights, written once per
 * test file (per seed) into a temp dir, with its config and weights loaded through loadCheckpoint.
 *
 *   const { dir, config, weights } = await tinyModel();          // seed 3
 *   afterAll(() => removeTinyModels());
 *   const bad = await copyTinyModel(root, (d) => editConfig(d, (c) => (c.vision_config.num_hidden_layers = 6)));
 *
 * Test files run in separate workers (vitest forks), so the memo below is per test file.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { archConfig, type ClipConfig } from '../../src/model/clip-config.js';
import { byteLevelVocab, vocabFiles } from '../../src/model/bpe-vocab.js';
import { randomWeights, writeModelFolder } from '../../src/model/random-weights.js';
import { writeRandomModel } from '../../src/model/random-model.js';
import type { WeightMap } from '../../src/model/tensor.js';

export interface TinyModel {
  /** The model folder: config.json, model.safetensors, vocab.json, merges.txt. */
  dir: string;
  config: ClipConfig;
  /** Exactly the checkpoint's tensors under HF names (as loadCheckpoint returns them). */
  weights: WeightMap;
  /** Hex SHA-256 of model.safetensors. */
  sha256: string;
  /** The temp dir holding `dir`; free for the test's own scratch files. */
  root: string;
}

/** The seed the acceptance tests use: its random weights are tuned so FALIP's mask visibly matters. */
export const TINY_SEED = 3;

const made = new Map<number, Promise<TinyModel>>();

/** The tiny model of `seed`, created on first call in this test file and reused afterwards. */
export function tinyModel(seed = TINY_SEED): Promise<TinyModel> {
  let p = made.get(seed);
  if (!p) {
    p = (async () => {
      const root = mkdtempSync(path.join(tmpdir(), `falip-tiny-${seed}-`));
      const dir = path.join(root, 'model');
      await writeRandomModel({ arch: 'tiny', seed, out: dir });
      const { config, weights, sha256 } = await loadCheckpoint(dir);
      return { dir, config, weights, sha256, root };
    })();
    made.set(seed, p);
  }
  return p;
}

/** Removes every temp dir tinyModel created in this test file (call from afterAll). */
export async function removeTinyModels(): Promise<void> {
  const all = [...made.values()];
  made.clear();
  for (const p of all) {
    const m = await p.catch(() => undefined);
    if (m) rmSync(m.root, { recursive: true, force: true });
  }
}

/** config.json as parsed JSON, for tests that break it on purpose. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into config.json's nested fields freely
export type ConfigJson = Record<string, any>;

/** Changes a model folder's config.json in place: parsed, passed to `edit`, written back. */
export function editConfig(dir: string, edit: (config: ConfigJson) => void): void {
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as ConfigJson;
  edit(config);
  writeFileSync(file, JSON.stringify(config));
}

/** Changes a copied model folder (its files may be edited, removed or renamed). */
export type FolderEdit = (dir: string) => void | Promise<void>;

let copies = 0;

/**
 * A copy of the tiny model folder (seed TINY_SEED) as `root/name` (default `copy-N`, a new N each call),
 * then changed by `edit`. Returns the copy's path.
 */
export async function copyTinyModel(root: string, edit?: FolderEdit): Promise<string>;
export async function copyTinyModel(root: string, name: string, edit?: FolderEdit): Promise<string>;
export async function copyTinyModel(
  root: string,
  nameOrEdit?: string | FolderEdit,
  edit?: FolderEdit,
): Promise<string> {
  const name = typeof nameOrEdit === 'string' ? nameOrEdit : `copy-${copies++}`;
  const change = typeof nameOrEdit === 'function' ? nameOrEdit : edit;
  const dir = path.join(root, name);
  cpSync((await tinyModel()).dir, dir, { recursive: true });
  await change?.(dir);
  return dir;
}

/**
 * The tiny model's weights without falip's random-weights mark: a model falip takes for a trained one, for
 * tests of what only trained weights get (the paper's numbers beside ours). Same tensors as `tinyModel(seed)`.
 */
export async function writeUnmarkedTinyModel(out: string, seed = TINY_SEED): Promise<string> {
  const vocab = byteLevelVocab();
  const config = archConfig('tiny', Object.keys(vocab.vocab).length);
  await writeModelFolder(out, config, randomWeights(config, seed), vocabFiles(vocab));
  return out;
}
