import { writeAll, writeAtomically } from '../../util/atomic-write.js';
import type { Tensor } from '../tensor.js';
import { ElemType, type ExternalTensor } from './graph-builder.js';
import { toFloat16, type Precision } from './precision.js';

/** Offsets of the tensors in one external-data file, by key; stored as JSON beside the file. */
export type WeightsIndex = Record<string, ExternalTensor>;

/** ORT maps external data; aligned offsets keep every tensor's start on a cache line. */
const ALIGN = 64;

/**
 * Writes tensors one after another (each aligned) into `path`, streaming so that a ViT-L never needs
 * a second copy of its weights in memory. Written to a temporary name and renamed when complete.
 * In fp16 each tensor is converted as it is written.
 */
export async function writeWeightsFile(path: string, entries: Iterable<[string, Tensor]>, precision: Precision = 'fp32'): Promise<WeightsIndex> {
  const elemType = precision === 'fp16' ? ElemType.FLOAT16 : ElemType.FLOAT;
  const index: WeightsIndex = {};
  let offset = 0;
  await writeAtomically(path, async (fh) => {
    for (const [key, t] of entries) {
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) await writeAll(fh, new Uint8Array(pad));
      offset += pad;
      const data = precision === 'fp16' ? toFloat16(t.data) : t.data;
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      await writeAll(fh, bytes);
      index[key] = { shape: t.shape, offset, length: bytes.byteLength, elemType };
      offset += bytes.byteLength;
    }
  });
  return index;
}
