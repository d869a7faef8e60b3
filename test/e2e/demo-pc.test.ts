/** `falip data demo-pc`: synthetic shapes written as PointNet's h5 release and imported like ModelNet40. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPcDataset } from '../../src/tasks/pointcloud/check-pc.js';
import { writeDemoPcSet } from '../../src/tasks/pointcloud/demo-pc.js';
import { readPcClasses, readPcManifest } from '../../src/tasks/pointcloud/pc-manifest.js';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function fresh(): Promise<string> {
  const r = await mkdtemp(path.join(tmpdir(), 'falip-demo-pc-'));
  roots.push(r);
  return r;
}

/** The sha256 of an h5 file's clouds and labels (HDF5 files carry a timestamp of their own). */
async function sha(file: string): Promise<string> {
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'r');
  try {
    const hash = createHash('sha256');
    for (const name of ['data', 'label']) {
      const v = (f.get(name) as { value: ArrayBufferView }).value;
      hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    return hash.digest('hex');
  } finally {
    f.close();
  }
}

describe('the demo-pc set', () => {
  it('imports like ModelNet40: five shapes, eight clouds each, every cloud checked', async () => {
    const { dir } = await writeDemoPcSet(await fresh(), { images: 40, seed: 1 });
    const report = await checkPcDataset(dir);
    expect(report.errors).toEqual([]);
    expect((await readPcClasses(dir)).names).toEqual(['sphere', 'cube', 'cylinder', 'cone', 'torus']);
    const samples = await readPcManifest(path.join(dir, 'manifest.jsonl'));
    expect(samples).toHaveLength(40);
    expect(samples.map((s) => s.label)).toEqual(Array.from({ length: 40 }, (_, i) => i % 5));
  });

  it('is the same clouds for the same seed, other clouds for another', async () => {
    const h5 = (root: string, seed: number) => path.join(root, 'demo-pc', 'release', `demo_pc_${seed}_10.h5`);
    const [a, b, c] = [await fresh(), await fresh(), await fresh()];
    await writeDemoPcSet(a, { images: 10, seed: 2 });
    await writeDemoPcSet(b, { images: 10, seed: 2 });
    await writeDemoPcSet(c, { images: 10, seed: 3 });
    expect(await sha(h5(a, 2))).toBe(await sha(h5(b, 2)));
    expect(await sha(h5(c, 3))).not.toBe(await sha(h5(a, 2)));
  });
});
