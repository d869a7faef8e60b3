import { writeFileAtomic } from '../util/atomic-write.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
/** Magic (6) + version (2) + header length (2). */
const PREAMBLE_BYTES = 10;
/** numpy aligns the data start to 64 bytes so memory-mapped arrays are aligned. */
const ALIGNMENT = 64;

/** Python's repr of a shape tuple: "()", "(5,)", "(3, 224, 224)". */
function shapeTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** An NPY v1.0 file of little-endian float32 in C order, readable by `numpy.load`. */
export function encodeNpyFloat32(data: Float32Array, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(`encodeNpyFloat32: shape [${shape.join(',')}] does not hold ${data.length} values`);
  }
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeTuple(shape)}, }`;
  // Pad with spaces so that preamble + header (ending in '\n') is a multiple of ALIGNMENT.
  const unpadded = PREAMBLE_BYTES + dict.length + 1;
  const header = `${dict + ' '.repeat((ALIGNMENT - (unpadded % ALIGNMENT)) % ALIGNMENT)}\n`;
  const out = Buffer.alloc(PREAMBLE_BYTES + header.length + 4 * data.length);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, PREAMBLE_BYTES, 'latin1');
  const body = PREAMBLE_BYTES + header.length;
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i]!, body + 4 * i);
  return out;
}

/** Writes an NPY file atomically: readers never see a half-written array. */
export function writeNpy(path: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  return writeFileAtomic(path, encodeNpyFloat32(data, shape));
}
