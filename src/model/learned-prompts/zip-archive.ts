import { open, type FileHandle } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import { UserError } from '../../util/errors.js';
import { readInto } from '../../util/file-read.js';

/**
 * A read-only zip archive with random access: the central directory is read once, an entry's bytes only
 * when asked for, by offset (a whole-model checkpoint is 300–600 MB; its data.pkl is a few KB).
 *
 * Why not an npm package: `yauzl` (well kept, ZIP64, random access) would fit, but it hands out entries as
 * streams and errors as free text, while the checkpoint reader wants an entry's bytes in one buffer read
 * at its offset and one-line errors naming the file and the entry. torch's writer (miniz) uses a small
 * subset of the format: STORED entries, data descriptors (sizes only in the central directory) and a
 * ZIP64 end record on every file. This reader covers that subset plus ZIP64 sizes and offsets (files past
 * 4 GiB) and DEFLATE (one node:zlib call, for a checkpoint someone re-zipped), and checks each entry's
 * CRC-32.
 */

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate (anything else is refused when read). */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_END64_LOCATOR = 0x07064b50;
const END_SIZE = 22;
const MAX_COMMENT = 0xffff;
const LOCATOR_SIZE = 20;
const ZIP64_EXTRA_ID = 0x0001;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

export class ZipArchive {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly fileSize: number,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  /** Opens `path` and reads its central directory; UserErrors name the file. */
  static async open(path: string): Promise<ZipArchive> {
    const fh = await open(path, 'r');
    try {
      const fileSize = (await fh.stat()).size;
      const entries = await readCentralDirectory(path, fh, fileSize);
      return new ZipArchive(path, fh, fileSize, entries);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** An entry's uncompressed bytes, CRC-checked (a fresh buffer: typed-array views on it are aligned). */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    const fail = (why: string): UserError => new UserError(`${this.path}: zip entry ${entry.name} ${why}`);
    if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
      throw fail(`is compressed with method ${entry.method}; falip reads stored and deflated entries only`);
    }
    const local = await readAt(this.fh, entry.localHeaderOffset, 30);
    if (local.length < 30 || local.readUInt32LE(0) !== SIG_LOCAL)
      throw fail('has no local header where the central directory points');
    const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (dataStart + entry.compressedSize > this.fileSize) throw fail(`runs past the end of the file (truncated?)`);
    const stored = new Uint8Array(entry.compressedSize);
    await readInto(this.fh, dataStart, stored);
    let bytes = stored;
    if (entry.method === METHOD_DEFLATE) {
      try {
        // maxOutputLength stops a deflate bomb at the size the directory declares.
        const inflated = inflateRawSync(stored, { maxOutputLength: Math.max(entry.size, 1) });
        bytes = new Uint8Array(inflated.length);
        bytes.set(inflated);
      } catch (e) {
        throw fail(`does not inflate (${(e as Error).message})`);
      }
    }
    if (bytes.length !== entry.size)
      throw fail(`holds ${bytes.length} bytes, not the ${entry.size} its directory entry declares`);
    if (crc32(bytes) !== entry.crc32) throw fail('is corrupt (CRC-32 mismatch)');
    return bytes;
  }
}

async function readCentralDirectory(path: string, fh: FileHandle, fileSize: number): Promise<Map<string, ZipEntry>> {
  const fail = (why: string): UserError => new UserError(`${path}: ${why}`);
  const tailLength = Math.min(fileSize, END_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(fh, tailStart, tailLength);
  const endAt = findEndRecord(tail);
  if (endAt < 0) throw fail('truncated or not a zip file (no end of central directory record)');

  let count = tail.readUInt16LE(endAt + 10);
  let cdSize: number = tail.readUInt32LE(endAt + 12);
  let cdOffset: number = tail.readUInt32LE(endAt + 16);
  // The ZIP64 locator sits just before the end record; its end record then holds the real values.
  const locatorAt = endAt - LOCATOR_SIZE;
  if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === SIG_END64_LOCATOR) {
    const end64Offset = toSafeNumber(tail.readBigUInt64LE(locatorAt + 8), path, 'ZIP64 end record offset');
    const end64 = await readAt(fh, end64Offset, 56);
    if (end64.length < 56 || end64.readUInt32LE(0) !== SIG_END64)
      throw fail('the ZIP64 locator points to no ZIP64 end record');
    count = toSafeNumber(end64.readBigUInt64LE(32), path, 'entry count');
    cdSize = toSafeNumber(end64.readBigUInt64LE(40), path, 'central directory size');
    cdOffset = toSafeNumber(end64.readBigUInt64LE(48), path, 'central directory offset');
  } else if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
    throw fail('the end record defers to a ZIP64 record that is missing');
  }
  if (cdOffset + cdSize > tailStart + endAt)
    throw fail('truncated or corrupt (the central directory lies past its end record)');

  const cd = await readAt(fh, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== SIG_CENTRAL)
      throw fail(`corrupt central directory (entry ${i + 1} of ${count})`);
    const flags = cd.readUInt16LE(at + 8);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    const name = cd.toString('utf8', at + 46, at + 46 + nameLength);
    if (flags & 1) throw fail(`zip entry ${name} is encrypted`);
    const raw = {
      size: cd.readUInt32LE(at + 24),
      compressedSize: cd.readUInt32LE(at + 20),
      localHeaderOffset: cd.readUInt32LE(at + 42),
    };
    const sizes = applyZip64Extra(
      raw,
      cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength),
      path,
      name,
    );
    entries.set(name, { name, method: cd.readUInt16LE(at + 10), crc32: cd.readUInt32LE(at + 16), ...sizes });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The end record's offset in `tail`: the last signature whose comment length reaches exactly the file's end. */
function findEndRecord(tail: Buffer): number {
  for (let i = tail.length - END_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_END && i + END_SIZE + tail.readUInt16LE(i + 20) === tail.length) return i;
  }
  return -1;
}

type Sizes = Pick<ZipEntry, 'size' | 'compressedSize' | 'localHeaderOffset'>;

/** Fields saturated at 0xFFFFFFFF are in the ZIP64 extra field, as u64, in this order. */
function applyZip64Extra(raw: Sizes, extra: Buffer, path: string, name: string): Sizes {
  const wanted = (['size', 'compressedSize', 'localHeaderOffset'] as const).filter((k) => raw[k] === U32_MAX);
  if (wanted.length === 0) return raw;
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === ZIP64_EXTRA_ID) {
      if (length < wanted.length * 8) break;
      const out = { ...raw };
      wanted.forEach((k, i) => {
        out[k] = toSafeNumber(extra.readBigUInt64LE(at + 4 + i * 8), path, `${name} ${k}`);
      });
      return out;
    }
    at += 4 + length;
  }
  throw new UserError(`${path}: zip entry ${name} lacks the ZIP64 sizes its directory entry defers to`);
}

function toSafeNumber(x: bigint, path: string, what: string): number {
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError(`${path}: ${what} ${x} is out of range`);
  return Number(x);
}

/** Up to `length` bytes at `position` (fewer at the end of the file). */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}
