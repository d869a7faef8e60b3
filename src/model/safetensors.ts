import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { writeAll, writeAtomically } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { halfToFloat } from './half-float.js';
import { numel, type Tensor, type WeightMap } from './tensor.js';
import { readInto } from '../util/file-read.js';

/**
 * The safetensors format: an 8-byte little-endian u64 header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then
 * the byte buffer the offsets point into (relative to its start).
 */

/** Floating dtypes we convert to float32, with their byte size. */
const FLOAT_DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2, F64: 8 } as const;
type FloatDtype = keyof typeof FLOAT_DTYPE_BYTES;

/**
 * Integer and boolean tensors are buffers and indices (e.g. HF's `position_ids`), never weights,
 * so the reader skips them; any other dtype (FP8, unknown) is a weight we cannot decode.
 */
const SKIPPED_DTYPES = new Set(['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64']);

const METADATA_KEY = '__metadata__';

/** Both directions reinterpret Float32Array memory as little-endian bytes without copying. */
function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new Error('safetensors I/O assumes a little-endian host');
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The header's `__metadata__` (string to string; empty when there is none), without reading any tensor:
 * falip marks the random models it writes there.
 */
export async function readSafetensorsMetadata(path: string): Promise<Record<string, string>> {
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize < 8) throw new UserError(`${path}: truncated safetensors file (${fileSize} bytes, no header length)`);
    const headerLength = (await readExactly(fh, 0, 8)).readBigUInt64LE(0);
    if (headerLength > BigInt(fileSize - 8))
      throw new UserError(
        `${path}: safetensors header length ${headerLength} exceeds the file size (${fileSize} bytes)`,
      );
    let json: unknown;
    try {
      json = JSON.parse((await readExactly(fh, 8, Number(headerLength))).toString('utf8'));
    } catch (e) {
      throw new UserError(`${path}: safetensors header is not valid JSON (${(e as Error).message})`);
    }
    const metadata = (json as Record<string, unknown> | null)?.[METADATA_KEY];
    if (metadata === null || typeof metadata !== 'object') return {};
    return Object.fromEntries(Object.entries(metadata).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } finally {
    await fh.close();
  }
}

/** Reads every floating-point tensor of a safetensors file as float32. */
export async function readSafetensors(path: string): Promise<WeightMap> {
  assertLittleEndianHost();
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize < 8) throw new UserError(`${path}: truncated safetensors file (${fileSize} bytes, no header length)`);
    const lengthBytes = await readExactly(fh, 0, 8);
    const headerLength = lengthBytes.readBigUInt64LE(0);
    if (headerLength > BigInt(fileSize - 8)) {
      throw new UserError(
        `${path}: safetensors header length ${headerLength} exceeds the file size (${fileSize} bytes)`,
      );
    }
    const dataStart = 8 + Number(headerLength);
    const entries = parseHeader(
      path,
      (await readExactly(fh, 8, Number(headerLength))).toString('utf8'),
      fileSize - dataStart,
    );
    const weights: WeightMap = new Map();
    for (const [name, entry] of entries) {
      if (SKIPPED_DTYPES.has(entry.dtype)) continue;
      if (!(entry.dtype in FLOAT_DTYPE_BYTES)) {
        throw new UserError(`${path}: tensor ${name} has unsupported dtype ${entry.dtype}`);
      }
      weights.set(name, await readTensor(fh, dataStart, entry, entry.dtype as FloatDtype));
    }
    return weights;
  } finally {
    await fh.close();
  }
}

function parseHeader(path: string, text: string, dataLength: number): Map<string, HeaderEntry> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`${path}: safetensors header is not a JSON object`);
  }
  const entries = new Map<string, HeaderEntry>();
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) continue;
    const bad = (why: string): UserError => new UserError(`${path}: tensor ${name}: ${why}`);
    const { dtype, shape, data_offsets: offsets } = (raw ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string') throw bad('missing dtype');
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger))
      throw bad('shape must be a list of non-negative integers');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
      throw bad('data_offsets must be two non-negative integers');
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      throw bad(`data_offsets [${begin}, ${end}] out of range (data section is ${dataLength} bytes)`);
    }
    const itemBytes = FLOAT_DTYPE_BYTES[dtype as FloatDtype];
    if (itemBytes !== undefined && end - begin !== numel(shape) * itemBytes) {
      throw bad(
        `data_offsets span ${end - begin} bytes but ${dtype}[${shape.join(', ')}] needs ${numel(shape) * itemBytes}`,
      );
    }
    entries.set(name, { dtype, shape, begin, end });
  }
  return entries;
}

function isNonNegativeInteger(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

async function readTensor(fh: FileHandle, dataStart: number, entry: HeaderEntry, dtype: FloatDtype): Promise<Tensor> {
  const n = numel(entry.shape);
  const position = dataStart + entry.begin;
  const out = new Float32Array(n);
  if (dtype === 'F32') {
    // Read straight into the result's memory: the largest tensors are hundreds of MB.
    await readInto(fh, position, new Uint8Array(out.buffer));
    return { shape: entry.shape, data: out };
  }
  const raw = await readExactly(fh, position, entry.end - entry.begin);
  if (dtype === 'F64') {
    for (let i = 0; i < n; i++) out[i] = raw.readDoubleLE(i * 8);
  } else if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = raw.readUInt16LE(i * 2) << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(raw.readUInt16LE(i * 2));
  }
  return { shape: entry.shape, data: out };
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  await readInto(fh, position, buf);
  return buf;
}

/**
 * Writes `tensors` as float32 safetensors, sorted by name so equal input gives identical bytes.
 * Tensors are streamed one at a time (a ViT-L/14 is 1.7 GB) into a temporary file, renamed on success.
 */
export async function writeSafetensors(
  path: string,
  tensors: WeightMap,
  metadata?: Record<string, string>,
): Promise<void> {
  assertLittleEndianHost();
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`tensor ${name}: ${t.data.length} values do not fill shape [${t.shape.join(', ')}]`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // The spec asks for the header to be padded with spaces so the data section stays 8-byte aligned.
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));

  await writeAtomically(path, async (fh) => {
    await writeAll(fh, prefix);
    await writeAll(fh, headerBytes);
    for (const name of names) {
      const data = tensors.get(name)!.data;
      await writeAll(fh, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  });
}
