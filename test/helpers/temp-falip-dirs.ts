import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * Points FALIP_MODELS, FALIP_DATASETS and FALIP_RESULTS at a fresh temporary folder for the enclosing suite (so no
 * test writes under the checkout) and restores them afterwards. Call at suite level; read `root()`
 * inside hooks and tests.
 */
export function useTempFalipDirs(prefix: string): { root: () => string } {
  const saved = {
    FALIP_MODELS: process.env.FALIP_MODELS,
    FALIP_DATASETS: process.env.FALIP_DATASETS,
    FALIP_RESULTS: process.env.FALIP_RESULTS,
  };
  let root: string | undefined;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), prefix));
    process.env.FALIP_MODELS = path.join(root, 'models');
    process.env.FALIP_DATASETS = path.join(root, 'datasets');
    process.env.FALIP_RESULTS = path.join(root, 'results');
  });
  afterAll(async () => {
    for (const [k, val] of Object.entries(saved)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
    if (root) await rm(root, { recursive: true, force: true });
  });
  return {
    root: () => {
      if (!root) throw new Error('useTempFalipDirs: root() read before beforeAll ran');
      return root;
    },
  };
}
