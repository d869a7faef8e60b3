import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { UserError } from '../../util/errors.js';
import { withFsErrors } from '../../util/fs-errors.js';
import { halfToFloat } from '../half-float.js';
import { numel, type Tensor } from '../tensor.js';
import { PyObject, TensorRef, unpickleTorch, type PyValue, type StoredDtype } from './torch-unpickler.js';
import { ZipArchive, type ZipEntry } from './zip-archive.js';

/**
 * A PyTorch checkpoint in torch.save's zip format (torch ≥ 1.6): `<prefix>/data.pkl` (the pickled object,
 * read through the restricted unpickler) and one `<prefix>/data/<key>` entry per storage, read only when
 * a tensor of it is asked for. Opening checks every tensor against its storage (entry present, long
 * enough, the view inside it), so a damaged file is refused before any tensor is used.
 */

export type FloatDtype = 'float64' | 'float32' | 'float16' | 'bfloat16';
export type IntDtype = Exclude<StoredDtype, FloatDtype>;

/** A floating tensor decoded to float32 (exact for float16/bfloat16), with the dtype it was stored in. */
export interface FloatTensor extends Tensor {
  dtype: FloatDtype;
}

/** An integer or boolean buffer (booleans as 0/1). */
export interface IntTensor {
  dtype: IntDtype;
  shape: number[];
  data: BigInt64Array | Int32Array;
}

export type StoredTensor = FloatTensor | IntTensor;

const ITEM_BYTES: Record<StoredDtype, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

function isFloatTensor(t: StoredTensor): t is FloatTensor {
  return t.data instanceof Float32Array;
}

export class PthFile {
  private cached?: { key: string; bytes: Uint8Array };

  private constructor(
    readonly path: string,
    private readonly zip: ZipArchive,
    private readonly prefix: string,
    /** The unpickled object: Maps, arrays, numbers, strings, TensorRefs, PyObject records. */
    readonly root: PyValue,
    /** Every tensor reachable from `root`, with where it sits (`state_dict/prompt_learner.ctx`). */
    readonly tensors: ReadonlyMap<TensorRef, string>,
  ) {}

  static open(path: string): Promise<PthFile> {
    return withFsErrors(async () => {
      assertLittleEndianHost();
      await refuseNonZip(path);
      const zip = await ZipArchive.open(path);
      try {
        const prefix = archivePrefix(zip);
        const byteorder = zip.entries.get(`${prefix}byteorder`);
        // Recent torch versions record the byte order; files without the entry (1.13's) are little-endian.
        if (byteorder) {
          const order = Buffer.from(await zip.read(byteorder))
            .toString('ascii')
            .trim();
          if (order !== 'little')
            throw new UserError(`${path}: a ${order}-endian checkpoint; falip reads little-endian ones`);
        }
        const root = unpickleTorch(await zip.read(zip.entries.get(`${prefix}data.pkl`)!), path);
        const tensors = tensorsIn(root);
        for (const [ref, where] of tensors) checkStorage(path, zip, prefix, ref, where);
        return new PthFile(path, zip, prefix, root, tensors);
      } catch (err) {
        await zip.close();
        throw err;
      }
    });
  }

  close(): Promise<void> {
    return this.zip.close();
  }

  /** The tensor's values, read from its storage entry (a strided view is gathered into row-major order). */
  async readTensor(ref: TensorRef): Promise<StoredTensor> {
    const { key, dtype } = ref.storage;
    // Views of one storage are usually read one after the other; keep only the last storage.
    let bytes = this.cached?.key === key ? this.cached.bytes : undefined;
    if (!bytes) {
      bytes = await withFsErrors(() => this.zip.read(this.zip.entries.get(`${this.prefix}data/${key}`)!));
      this.cached = { key, bytes };
    }
    return decode(bytes, dtype, ref);
  }

  /** A floating tensor (what prompts and weights are); `name` is for the error when it is not. */
  async readFloat(ref: TensorRef, name: string): Promise<FloatTensor> {
    const t = await this.readTensor(ref);
    if (!isFloatTensor(t))
      throw new UserError(`${this.path}: tensor ${name} is ${t.dtype}, expected a floating-point tensor`);
    return t;
  }
}

/** Opens `path`, runs `use`, and closes it whatever happens. */
export async function withPth<T>(path: string, use: (pth: PthFile) => Promise<T>): Promise<T> {
  const pth = await PthFile.open(path);
  try {
    return await use(pth);
  } finally {
    await pth.close();
  }
}

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new Error('the .pth reader assumes a little-endian host');
}

/** torch < 1.6 wrote a bare pickle stream (magic number first); only the zip format is read. */
async function refuseNonZip(path: string): Promise<void> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(4);
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (head.readUInt32LE(0) === 0x04034b50) return;
  if (head[0] === 0x80) {
    throw new UserError(
      `${path}: a legacy (pre-1.6, non-zip) torch.save file; falip reads the zip format (load and re-save it with torch ≥ 1.6)`,
    );
  }
  throw new UserError(`${path}: not a PyTorch checkpoint (neither a torch.save zip nor a legacy pickle)`);
}

/** `archive/` in `archive/data.pkl`: torch names the folder after the file; any one name is accepted. */
function archivePrefix(zip: ZipArchive): string {
  const pickles = [...zip.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new UserError(
      `${zip.path}: a zip with ${pickles.length === 0 ? 'no' : 'several'} <name>/data.pkl entries (not a torch.save checkpoint)`,
    );
  }
  return pickles[0]!.slice(0, -'data.pkl'.length);
}

/** Depth-first over Maps, arrays and object records (shared and cyclic references visited once). */
function tensorsIn(root: PyValue): Map<TensorRef, string> {
  const found = new Map<TensorRef, string>();
  const seen = new Set<object>();
  const visit = (x: PyValue, where: string): void => {
    if (x instanceof TensorRef) {
      if (!found.has(x)) found.set(x, where);
      return;
    }
    if (typeof x !== 'object' || x === null || seen.has(x)) return;
    seen.add(x);
    const at = (label: string): string => (where ? `${where}/${label}` : label);
    if (x instanceof Map)
      for (const [k, v] of x) visit(v, at(typeof k === 'string' || typeof k === 'number' ? String(k) : '<key>'));
    else if (Array.isArray(x))
      x.forEach((v, i) => {
        visit(v, at(String(i)));
      });
    else if (x instanceof PyObject) visit(x.state, at(`<${x.className}>`));
  };
  visit(root, '');
  return found;
}

function checkStorage(path: string, zip: ZipArchive, prefix: string, ref: TensorRef, where: string): void {
  const { key, dtype, numel: storageNumel } = ref.storage;
  const entryName = `${prefix}data/${key}`;
  const entry: ZipEntry | undefined = zip.entries.get(entryName);
  if (!entry)
    throw new UserError(`${path}: tensor ${where} needs storage ${key}, but the archive has no entry ${entryName}`);
  const needed = storageNumel * ITEM_BYTES[dtype];
  if (entry.size < needed) {
    throw new UserError(
      `${path}: storage ${entryName} holds ${entry.size} bytes, but it is declared as ${storageNumel} ${dtype} values (${needed} bytes)`,
    );
  }
  if (numel(ref.shape) === 0) return;
  const last = ref.shape.reduce((acc, n, i) => acc + (n - 1) * ref.stride[i]!, ref.offset);
  if (last >= storageNumel) {
    throw new UserError(
      `${path}: tensor ${where} [${ref.shape.join(', ')}] (offset ${ref.offset}, strides [${ref.stride.join(', ')}]) reaches element ${last} of storage ${key}, which holds ${storageNumel}`,
    );
  }
}

/** Storage element index of each tensor element, in row-major order. */
function elementIndices(ref: TensorRef): Int32Array | { start: number; length: number } {
  const n = numel(ref.shape);
  let expected = 1;
  let contiguous = true;
  for (let d = ref.shape.length - 1; d >= 0; d--) {
    if (ref.shape[d] !== 1 && ref.stride[d] !== expected) contiguous = false;
    expected *= ref.shape[d]!;
  }
  if (contiguous) return { start: ref.offset, length: n };
  const out = new Int32Array(n);
  const counter = new Array<number>(ref.shape.length).fill(0);
  let index = ref.offset;
  for (let i = 0; i < n; i++) {
    out[i] = index;
    // Odometer: bump the last axis, carrying into earlier ones.
    for (let d = ref.shape.length - 1; d >= 0; d--) {
      counter[d]!++;
      index += ref.stride[d]!;
      if (counter[d]! < ref.shape[d]!) break;
      index -= counter[d]! * ref.stride[d]!;
      counter[d] = 0;
    }
  }
  return out;
}

let halfTable: Float32Array | undefined;

/** All 65536 float16 values as float32: decoding a tensor becomes one lookup per element. */
function halfValues(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

type Source =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

function sourceView(bytes: Uint8Array, dtype: StoredDtype, count: number): Source {
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'float64':
      return new Float64Array(buffer, byteOffset, count);
    case 'float32':
      return new Float32Array(buffer, byteOffset, count);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, count);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'int32':
      return new Int32Array(buffer, byteOffset, count);
    case 'int16':
      return new Int16Array(buffer, byteOffset, count);
    case 'int8':
      return new Int8Array(buffer, byteOffset, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, count);
  }
}

function decode(bytes: Uint8Array, dtype: StoredDtype, ref: TensorRef): StoredTensor {
  const shape = [...ref.shape];
  const n = numel(shape);
  const src = sourceView(bytes, dtype, ref.storage.numel);
  const where = elementIndices(ref);
  const at = where instanceof Int32Array ? (i: number) => where[i]! : (i: number) => where.start + i;
  if (dtype === 'int64') {
    const data = new BigInt64Array(n);
    for (let i = 0; i < n; i++) data[i] = (src as BigInt64Array)[at(i)]!;
    return { dtype, shape, data };
  }
  if (dtype !== 'float64' && dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16') {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = (src as Int32Array)[at(i)]!;
    return { dtype, shape, data };
  }
  const data = new Float32Array(n);
  if (dtype === 'float16') {
    const table = halfValues();
    for (let i = 0; i < n; i++) data[i] = table[(src as Uint16Array)[at(i)]!]!;
  } else if (dtype === 'bfloat16') {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(data.buffer);
    for (let i = 0; i < n; i++) bits[i] = (src as Uint16Array)[at(i)]! << 16;
  } else if (dtype === 'float32' && !(where instanceof Int32Array)) {
    data.set((src as Float32Array).subarray(where.start, where.start + n));
  } else {
    for (let i = 0; i < n; i++) data[i] = (src as Float32Array | Float64Array)[at(i)]!;
  }
  return { dtype, shape, data };
}
