/**
 * Point-cloud releases written by h5wasm in their own layouts, for the tests: ModelNet40's
 * ply_data_test*.h5 (label [n, 1], with normals) beside test_files.txt and shape_names.txt, and
 * ScanObjectNN's h5 (label [n], mask).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

/**
 * Bob Jenkins' lookup3 `hashlittle` (initval 0), which HDF5 uses to checksum its version-2 object
 * headers: a damaged header that still passes its checksum is what reaches h5wasm's datatype code.
 */
function lookup3(data: Uint8Array): number {
  const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  let a = (0xdeadbeef + data.length) >>> 0;
  let b = a;
  let c = a;
  const word = (i: number) => (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
  let i = 0;
  let length = data.length;
  while (length > 12) {
    a = (a + word(i)) >>> 0;
    b = (b + word(i + 4)) >>> 0;
    c = (c + word(i + 8)) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    length -= 12;
    i += 12;
  }
  if (length === 0) return c;
  const tail = new Uint8Array(12);
  tail.set(data.subarray(i));
  const t = (j: number) => (tail[j]! | (tail[j + 1]! << 8) | (tail[j + 2]! << 16) | (tail[j + 3]! << 24)) >>> 0;
  a = (a + t(0)) >>> 0;
  b = (b + t(4)) >>> 0;
  c = (c + t(8)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 24)) >>> 0;
  return c;
}

/**
 * Damages the datatype message of the first float32 dataset of an h5 file written by `writeH5` (its
 * `data`): the class nibble becomes 15, which no HDF5 datatype has, and the object header's checksum
 * is recomputed, so the file opens and the damage shows only when the dataset's type is read.
 */
export async function damageFloatDatatype(path: string): Promise<void> {
  const bytes = new Uint8Array(await readFile(path));
  // A little-endian IEEE float32: class 1 version 1, bit field 0x20 0x1f 0x00, size 4, then its properties.
  const pattern = [0x11, 0x20, 0x1f, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x17, 0x08];
  const at = Buffer.from(bytes).indexOf(Buffer.from(pattern));
  if (at < 0) throw new Error(`${path}: no float32 datatype message found`);
  const header = Buffer.from(bytes).lastIndexOf(Buffer.from('OHDR'), at);
  const flags = bytes[header + 5]!;
  let p = header + 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
  const sizeBytes = 1 << (flags & 3);
  let chunk = 0;
  for (let k = sizeBytes - 1; k >= 0; k--) chunk = chunk * 256 + bytes[p + k]!;
  p += sizeBytes;
  const end = p + chunk;
  bytes[at] = 0x1f;
  new DataView(bytes.buffer).setUint32(end, lookup3(bytes.subarray(header, end)), true);
  await writeFile(path, bytes);
}
