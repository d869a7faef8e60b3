import { z } from 'zod';
import { ElemType } from './onnx/graph-builder.js';
import type { WeightsIndex } from './onnx/weights-file.js';
import { numel } from './tensor.js';

/** Bytes per element of the dtypes a weights file may hold (float32, float16, and int8's codes). */
const ELEMENT_BYTES = new Map<number, number>([
  [ElemType.FLOAT, 4],
  [ElemType.FLOAT16, 2],
  [ElemType.INT8, 1],
  [ElemType.UINT8, 1],
]);

const IndexEntry = z.strictObject({
  shape: z.array(z.number().int().nonnegative()),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  elemType: z.number().int(),
});
const IndexFile = z.record(z.string(), IndexEntry);

/**
 * A weights index (`vision.index.json`) is what every graph's initializers point into the `.bin`
 * with; past its checksum, it must promise only what the `.bin` can give: each tensor of a known
 * dtype, its byte length that of its shape and dtype, and inside the file. Returns the index, or
 * why it cannot be used.
 */
export function checkWeightsIndex(json: unknown, binBytes: number): WeightsIndex | string {
  const parsed = IndexFile.safeParse(json);
  if (!parsed.success || Object.keys(parsed.data).length === 0) return 'weights index is not a tensor table';
  for (const [key, t] of Object.entries(parsed.data)) {
    const bytes = ELEMENT_BYTES.get(t.elemType);
    if (bytes === undefined) return `weights index: ${key} has unknown dtype ${t.elemType}`;
    if (t.length !== numel(t.shape) * bytes)
      return `weights index: ${key} has ${t.length} bytes for shape [${t.shape.join(', ')}]`;
    if (t.offset + t.length > binBytes) return `weights index: ${key} ends past the ${binBytes}-byte weights file`;
  }
  return parsed.data as WeightsIndex;
}
