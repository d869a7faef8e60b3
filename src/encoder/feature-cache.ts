import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { sha256Hex } from '../util/sha256.js';

/** First line of every entry: the format, so a file of another kind is never read as features. */
const MAGIC = 'falip-features 1\n';

/** What an entry says about itself; the data after the header line must agree with all of it. */
interface EntryHeader {
  key: string;
  dtype: 'float32';
  length: number;
  sha256: string;
}

/** An entry's data bytes (after the header line) when it can be used, else why it cannot. */
function readEntry(bytes: Buffer, key: string, expectedLength: number): { data: Buffer } | { problem: string } {
  const magic = Buffer.from(MAGIC);
  if (bytes.length < magic.length || !bytes.subarray(0, magic.length).equals(magic))
    return { problem: 'not a falip feature file' };
  const end = bytes.indexOf(0x0a, magic.length);
  if (end < 0) return { problem: 'truncated header' };
  let header: EntryHeader;
  try {
    header = JSON.parse(bytes.subarray(magic.length, end).toString('utf8')) as EntryHeader;
  } catch {
    return { problem: 'unreadable header' };
  }
  const data = bytes.subarray(end + 1);
  if (header.key !== key) return { problem: 'holds another key' };
  if (header.dtype !== 'float32' || header.length !== expectedLength)
    return { problem: `holds ${header.length} ${header.dtype} values, expected ${expectedLength} float32` };
  if (data.length !== 4 * header.length) return { problem: `${data.length} data bytes, expected ${4 * header.length}` };
  if (sha256Hex(data) !== header.sha256) return { problem: 'checksum mismatch' };
  return { data };
}

/**
 * Optional on-disk cache of image features (`--cache DIR`), so that re-running a table with one row
 * changed costs only that row. A key is the sha256 of everything that decides a feature — the model
 * (weights, config, precision), the image content, the method with every parameter, the region — so a
 * parameter that changes pixels or masks can never hit a stale entry. Each entry carries its key,
 * dtype, length and the sha256 of its data: a damaged entry is reported, deleted and recomputed,
 * never used.
 */
export class FeatureCache {
  hits = 0;
  misses = 0;
  /** Entries found damaged (and deleted) in this run. */
  corrupt = 0;

  constructor(
    private readonly dir: string,
    /** Identifies the model: features of another model never match. */
    private readonly modelId: string,
  ) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new UserError(`--cache ${dir}: is a file, not a folder`);
  }

  key(parts: readonly string[]): string {
    const h = createHash('sha256').update(this.modelId);
    for (const p of parts) h.update('\0').update(p);
    return h.digest('hex');
  }

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.f32`);
  }

  async get(key: string, expectedLength: number): Promise<Float32Array | undefined> {
    const f = this.file(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(f);
    } catch {
      this.misses++;
      return undefined;
    }
    const entry = readEntry(bytes, key, expectedLength);
    if ('problem' in entry) {
      this.corrupt++;
      this.misses++;
      process.stderr.write(`falip: ${f}: corrupt feature cache entry (${entry.problem}), recomputing\n`);
      await rm(f, { force: true });
      return undefined;
    }
    this.hits++;
    const { data } = entry;
    return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }

  async put(key: string, value: Float32Array): Promise<void> {
    const data = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const header: EntryHeader = { key, dtype: 'float32', length: value.length, sha256: sha256Hex(data) };
    try {
      await mkdir(path.dirname(this.file(key)), { recursive: true });
      await writeFileAtomic(
        this.file(key),
        Buffer.concat([Buffer.from(MAGIC), Buffer.from(`${JSON.stringify(header)}\n`), data]),
      );
    } catch (e) {
      throw new UserError(
        `--cache ${this.dir}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
  }
}
