import { writeAll, writeAtomically } from '../../src/util/atomic-write.js';
import type { Precision } from '../../src/model/onnx/precision.js';
import { type WeightsIndex, writeWeights } from '../../src/model/onnx/weights-file.js';
import type { Tensor } from '../../src/model/tensor.js';

/** `writeWeights` into the file `path` (the graph cache writes its own through its verified files). */
export async function writeWeightsFile(
  path: string,
  entries: Iterable<[string, Tensor]>,
  precision: Precision = 'fp32',
): Promise<WeightsIndex> {
  let index: WeightsIndex = {};
  await writeAtomically(path, async (fh) => {
    index = await writeWeights((bytes) => writeAll(fh, bytes), entries, precision);
  });
  return index;
}
