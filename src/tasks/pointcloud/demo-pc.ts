import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATASET_INFO_FILE, type DatasetInfo } from '../../datasets/dataset-info.js';
import { datasetDir, datasetsRoot } from '../../datasets/dataset-store.js';
import { checkDemoOptions } from '../../datasets/demo-shapes.js';
import { Rng } from '../../util/rng.js';
import type { DatasetGenerator } from '../task-definition.js';
import { POINTS_PER_FILE_CLOUD, writeCloudH5 } from './h5-write.js';
import { importClouds, POINTCLOUD_SPLIT } from './importers/pc-import.js';

/**
 * `falip data demo-pc`: a point-cloud set of simple shapes to try the 3D path without ModelNet40. It is
 * written as PointNet's HDF5 release is (an h5 file of clouds and labels, the shape names) and imported
 * like ModelNet40, so everything after the import is the real pipeline.
 */
const SHAPES = ['sphere', 'cube', 'cylinder', 'cone', 'torus'] as const;
type Shape = (typeof SHAPES)[number];

/** A point on the unit surface of `shape` from two uniform numbers (not area-uniform: a demo needs no more). */
function surfacePoint(shape: Shape, u: number, v: number): [number, number, number] {
  const a = 2 * Math.PI * u;
  switch (shape) {
    case 'sphere': {
      const z = 2 * v - 1;
      const r = Math.sqrt(1 - z * z);
      return [r * Math.cos(a), r * Math.sin(a), z];
    }
    case 'cube': {
      const face = Math.floor(v * 6);
      const s = 2 * u - 1;
      const t = 2 * ((v * 6) % 1) - 1;
      const sign = face % 2 === 0 ? 1 : -1;
      const axis = Math.floor(face / 2);
      const p = [s, t, sign];
      return [p[(3 - axis) % 3]!, p[(4 - axis) % 3]!, p[(5 - axis) % 3]!];
    }
    case 'cylinder':
      return [0.7 * Math.cos(a), 0.7 * Math.sin(a), 1.6 * v - 0.8];
    case 'cone': {
      const r = 0.8 * (1 - v);
      return [r * Math.cos(a), r * Math.sin(a), 1.6 * v - 0.8];
    }
    case 'torus': {
      const b = 2 * Math.PI * v;
      const r = 0.6 + 0.25 * Math.cos(b);
      return [r * Math.cos(a), r * Math.sin(a), 0.25 * Math.sin(b)];
    }
  }
}

/** One cloud: the shape's surface turned about the vertical axis and scaled to a radius of 0.8–1 (the unit sphere). */
function cloud(shape: Shape, rng: Rng): Float32Array {
  const raw = Array.from({ length: POINTS_PER_FILE_CLOUD }, () => surfacePoint(shape, rng.next(), rng.next()));
  const radius = Math.max(...raw.map(([x, y, z]) => Math.hypot(x, y, z)));
  const k = (0.8 + 0.2 * rng.next()) / radius;
  const turn = 2 * Math.PI * rng.next();
  const [c, s] = [Math.cos(turn), Math.sin(turn)];
  const out = new Float32Array(POINTS_PER_FILE_CLOUD * 3);
  raw.forEach(([x, y, z], i) => {
    out.set([k * (c * x - s * y), k * (s * x + c * y), k * z], 3 * i);
  });
  return out;
}

export async function writeDemoPcSet(
  outRoot: string = datasetsRoot(),
  opts: { images?: number; seed?: number } = {},
): Promise<{ dir: string; info: DatasetInfo }> {
  const count = opts.images ?? 40;
  const seed = opts.seed ?? 0;
  checkDemoOptions(count, seed);
  const rng = new Rng(seed);
  const labels = Array.from({ length: count }, (_, i) => i % SHAPES.length);
  const release = datasetDir('demo-pc', 'release', outRoot);
  await mkdir(release, { recursive: true });
  const file = join(release, `demo_pc_${seed}_${count}.h5`);
  await writeCloudH5(
    file,
    labels.map((l) => cloud(SHAPES[l]!, rng)),
    labels,
  );
  const namesFile = join(release, 'shape_names.txt');
  await writeFile(namesFile, SHAPES.map((s) => `${s}\n`).join(''));
  const report = await importClouds({
    name: 'demo-pc',
    files: [file],
    rawNames: SHAPES,
    namesSource: `${namesFile} (generated shapes)`,
    otherSources: [namesFile],
    sourceRoot: release,
    createdBy: `falip data demo-pc --images ${count} --seed ${seed}`,
    outRoot,
  });
  return { dir: report.dir, info: report.info };
}

/** `falip data demo-pc`; the default set is written on first use. */
export const demoPcGenerator: DatasetGenerator = {
  summary:
    'generate the synthetic demo-pc point-cloud set (spheres, cubes, cylinders, cones, tori as PointNet-style h5 clouds), imported like ModelNet40; deterministic per seed',
  defaultImages: 40,
  write: writeDemoPcSet,
  async ensure() {
    if (!existsSync(join(datasetDir('demo-pc', POINTCLOUD_SPLIT), DATASET_INFO_FILE))) await writeDemoPcSet();
  },
};
