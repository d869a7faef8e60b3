import { open, rename } from 'node:fs/promises';
import type { Tensor } from '../tensor.js';
import { ElemType, type ExternalTensor } from './graph-builder.js';

/** Offsets of the tensors in one external-data file, by key; stored as JSON beside the file. */
export type WeightsIndex = Record<string, ExternalTensor>;

/** ORT maps external data; aligned offsets keep every tensor's start on a cache line. */
const ALIGN = 64;

/**
 * Writes tensors one after another (each aligned) into `path`, streaming so that a ViT-L never needs
 * a second copy of its weights in memory. Written to a temporary name and renamed when complete.
 */
export async function writeWeightsFile(path: string, entries: Iterable<[string, Tensor]>): Promise<WeightsIndex> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  const index: WeightsIndex = {};
  let offset = 0;
  try {
    for (const [key, t] of entries) {
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) await fh.write(new Uint8Array(pad));
      offset += pad;
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      await fh.write(bytes);
      index[key] = { shape: t.shape, offset, length: bytes.byteLength, elemType: ElemType.FLOAT };
      offset += bytes.byteLength;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  return index;
}
