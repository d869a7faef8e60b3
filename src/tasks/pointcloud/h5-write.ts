import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Points each cloud of PointNet's HDF5 release holds (evaluation reads the first 1,024). */
export const POINTS_PER_FILE_CLOUD = 2048;

/**
 * Writes clouds as PointNet's ModelNet40 release stores them: `data` [N, 2048, 3] float32 and `label`
 * [N, 1] uint8, so falip's own importer reads them as it reads the release.
 */
export async function writeCloudH5(
  path: string,
  clouds: readonly Float32Array[],
  labels: readonly number[],
): Promise<void> {
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  await mkdir(dirname(path), { recursive: true });
  const data = new Float32Array(clouds.length * POINTS_PER_FILE_CLOUD * 3);
  clouds.forEach((c, i) => {
    data.set(c, i * POINTS_PER_FILE_CLOUD * 3);
  });
  const file = new h5wasm.File(path, 'w');
  try {
    file.create_dataset({ name: 'data', data, shape: [clouds.length, POINTS_PER_FILE_CLOUD, 3], dtype: '<f' });
    file.create_dataset({ name: 'label', data: Uint8Array.from(labels), shape: [labels.length, 1], dtype: 'B' });
  } finally {
    file.close();
  }
}
