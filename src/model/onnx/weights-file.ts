import type { Tensor } from '../tensor.js';
import { ElemType, type ExternalTensor } from './graph-builder.js';
import { isQuantizedWeight, quantizePerColumn, scaleKey } from './int8-weights.js';
import { toFloat16, type Precision } from './precision.js';

/** Offsets of the tensors in one external-data file, by key; stored as JSON beside the file. */
export type WeightsIndex = Record<string, ExternalTensor>;

/** ORT maps external data; aligned offsets keep every tensor's start on a cache line. */
const ALIGN = 64;

interface StoredTensor {
  key: string;
  shape: number[];
  data: ArrayBufferView;
  elemType: ElemType;
}

/** What the file holds for one tensor in `precision` (in int8 a Linear weight becomes two: codes and scales). */
function* stored(key: string, t: Tensor, precision: Precision): Generator<StoredTensor> {
  if (precision === 'fp16') {
    yield { key, shape: t.shape, data: toFloat16(t.data), elemType: ElemType.FLOAT16 };
  } else if (precision === 'int8' && isQuantizedWeight(key)) {
    const q = quantizePerColumn(t);
    yield { key, shape: q.shape, data: q.codes, elemType: ElemType.INT8 };
    yield { key: scaleKey(key), shape: [q.shape[1]], data: q.scales, elemType: ElemType.FLOAT };
  } else {
    yield { key, shape: t.shape, data: t.data, elemType: ElemType.FLOAT };
  }
}

/**
 * Streams tensors one after another (each aligned) into `sink`, so that a ViT-L never needs a second
 * copy of its weights in memory, and returns where each landed. In fp16 each tensor is converted as it
 * is written; in int8 each Linear weight is quantized per output column and stored as int8 with its
 * float32 scales [out] under `scaleKey(key)`.
 */
export async function writeWeights(
  sink: (bytes: Uint8Array) => Promise<void>,
  entries: Iterable<[string, Tensor]>,
  precision: Precision = 'fp32',
): Promise<WeightsIndex> {
  const index: WeightsIndex = {};
  let offset = 0;
  for (const [key, t] of entries) {
    for (const s of stored(key, t, precision)) {
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) await sink(new Uint8Array(pad));
      offset += pad;
      const bytes = new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength);
      await sink(bytes);
      index[s.key] = { shape: s.shape, offset, length: bytes.byteLength, elemType: s.elemType };
      offset += bytes.byteLength;
    }
  }
  return index;
}
