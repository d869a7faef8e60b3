/**
 * Point-cloud releases written by h5wasm in their own layouts, for the tests: ModelNet40's
 * ply_data_test*.h5 (label [n, 1], with normals) beside test_files.txt and shape_names.txt, and
 * ScanObjectNN's h5 (label [n], mask).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';

export const STORED_POINTS = 2048;

export const MODELNET40_NAMES = [
  'airplane',
  'bathtub',
  'bed',
  'bench',
  'bookshelf',
  'bottle',
  'bowl',
  'car',
  'chair',
  'cone',
  'cup',
  'curtain',
  'desk',
  'door',
  'dresser',
  'flower_pot',
  'glass_box',
  'guitar',
  'keyboard',
  'lamp',
  'laptop',
  'mantel',
  'monitor',
  'night_stand',
  'person',
  'piano',
  'plant',
  'radio',
  'range_hood',
  'sink',
  'sofa',
  'stairs',
  'stool',
  'table',
  'tent',
  'toilet',
  'tv_stand',
  'vase',
  'wardrobe',
  'xbox',
];

/** Cloud `c`'s points, all within the unit sphere, different for every cloud and point. */
export function cloudPoints(c: number, points = STORED_POINTS): Float32Array {
  const out = new Float32Array(points * 3);
  for (let j = 0; j < points; j++) {
    const theta = 0.37 * j + c;
    const z = Math.sin(0.011 * j + 0.5 * c) * 0.9;
    const r = Math.sqrt(0.81 - z * z);
    out.set([r * Math.cos(theta), r * Math.sin(theta), z], j * 3);
  }
  return out;
}

export interface H5Fixture {
  /** Cloud numbers (seeds of cloudPoints), one per row. */
  clouds: number[];
  labels: number[];
  /** Release label layouts: ModelNet40 [n, 1] uint8, ScanObjectNN [n] int64. */
  labelLayout: 'modelnet' | 'scanobjectnn';
  /** Changes applied to the data array before it is written (bad input). */
  editData?: (data: Float32Array) => void;
  dataShape?: number[];
  omit?: 'label';
}

export async function writeH5(path: string, f: H5Fixture): Promise<void> {
  await h5wasm.ready;
  const n = f.clouds.length;
  const shape = f.dataShape ?? [n, STORED_POINTS, 3];
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (!f.dataShape)
    f.clouds.forEach((c, i) => {
      data.set(cloudPoints(c), i * STORED_POINTS * 3);
    });
  f.editData?.(data);
  const file = new h5wasm.File(path, 'w');
  file.create_dataset({ name: 'data', data, shape, dtype: '<f' });
  // One label per entry of `labels`, so a fixture can disagree with its data's row count.
  const rows = f.labels.length;
  if (f.omit !== 'label') {
    if (f.labelLayout === 'modelnet')
      file.create_dataset({ name: 'label', data: Uint8Array.from(f.labels), shape: [rows, 1], dtype: 'B' });
    else file.create_dataset({ name: 'label', data: BigInt64Array.from(f.labels, BigInt), shape: [rows], dtype: '<q' });
  }
  if (f.labelLayout === 'modelnet') file.create_dataset({ name: 'normal', data, shape, dtype: '<f' });
  else
    file.create_dataset({
      name: 'mask',
      data: new Int32Array(n * STORED_POINTS).fill(-1),
      shape: [n, STORED_POINTS],
      dtype: '<i',
    });
  file.close();
}

/** A ModelNet40 release folder; `files` maps each h5 name to its fixture. */
export async function writeModelNet(
  dir: string,
  files: Record<string, H5Fixture>,
  names = MODELNET40_NAMES,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, fixture] of Object.entries(files)) await writeH5(join(dir, name), fixture);
  await writeFile(
    join(dir, 'test_files.txt'),
    Object.keys(files)
      .map((n) => `data/modelnet40_ply_hdf5_2048/${n}\n`)
      .join(''),
  );
  await writeFile(join(dir, 'shape_names.txt'), names.map((n) => `${n}\n`).join(''));
  return dir;
}
