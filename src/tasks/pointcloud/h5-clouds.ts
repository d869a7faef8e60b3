/**
 * Point clouds in the PointNet/ScanObjectNN HDF5 layout: `data` float32 [N, P, 3] (P = 2048 in both
 * releases) and `label` integer [N] or [N, 1]. Only the rows asked for are read (a hyperslab), and only
 * their first 1,024 points, which are all PointCLIP uses.
 */
import { open as openFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Dataset, File as H5File } from 'h5wasm/node';
import type { PointsXYZ } from './points.js';
import { UserError } from '../../util/errors.js';

/** Points of a cloud that are used: the first 1,024 in file order (no sampling, no shuffling). */
export const POINTS_PER_CLOUD = 1024;

/** Bytes of the HDF5 format signature, found at offset 0 of every file without a user block. */
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** h5wasm's datatype classes (`metadata.type`). */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;

/** One cloud as evaluation needs it. */
export interface LabelledCloud {
  /** The first 1,024 points, [1024 × 3] interleaved x, y, z. */
  points: PointsXYZ;
  /** 0-based class index into the dataset's class names. */
  label: number;
}

type H5Library = typeof import('h5wasm/node').default;

let library: Promise<H5Library> | undefined;

/**
 * Loads the HDF5 library once, on first use: compiling its WebAssembly takes a second or more, which
 * commands that read no point cloud should not pay. Its default error handler prints a stack of
 * diagnostics to stderr; the throwing handler turns them into an exception instead, which
 * `hdf5Problem` shortens to one line.
 */
function hdf5(): Promise<H5Library> {
  library ??= import('h5wasm/node').then(async ({ default: h5wasm }) => {
    (await h5wasm.ready).activate_throwing_error_handler();
    return h5wasm;
  });
  return library;
}

/** An open HDF5 file of clouds whose datasets have been checked. */
export class CloudFile {
  private constructor(
    /** Absolute path. */
    readonly path: string,
    private readonly file: H5File,
    private readonly data: Dataset,
    /** Every cloud's label, in row order (N small integers, read once). */
    readonly labels: readonly number[],
  ) {}

  /** Opens `path` and checks its `data` and `label` datasets; every problem is a one-line UserError naming the file. */
  static async open(path: string): Promise<CloudFile> {
    const abs = resolve(path);
    await checkHdf5Signature(abs);
    const h5wasm = await hdf5();
    const file = hdf5Call(abs, 'cannot open', () => new h5wasm.File(abs, 'r'));
    try {
      const data = dataset(h5wasm, file, abs, 'data');
      const label = dataset(h5wasm, file, abs, 'label');
      // Reading a dataset's shape or type opens it: a damaged header surfaces here, as a library error.
      const dataShape = hdf5Call(abs, 'data: cannot read', () => data.shape ?? []);
      const meta = hdf5Call(abs, 'data: cannot read', () => data.metadata);
      if (meta.type !== H5T_FLOAT || meta.size !== 4)
        throw new UserError(`${abs}: data: expected float32, found ${describeType(meta.type, meta.size)}`);
      if (dataShape.length !== 3 || dataShape[2] !== 3 || dataShape[0]! < 1 || dataShape[1]! < POINTS_PER_CLOUD) {
        throw new UserError(
          `${abs}: data: expected shape [N, P, 3] with N ≥ 1 and P ≥ ${POINTS_PER_CLOUD} points, found [${dataShape.join(', ')}]`,
        );
      }
      const count = dataShape[0]!;
      const labelShape = hdf5Call(abs, 'label: cannot read', () => label.shape ?? []);
      const labelMeta = hdf5Call(abs, 'label: cannot read', () => label.metadata);
      if (labelMeta.type !== H5T_INTEGER)
        throw new UserError(`${abs}: label: expected integers, found ${describeType(labelMeta.type, labelMeta.size)}`);
      const oneLabelEach =
        labelShape[0] === count && (labelShape.length === 1 || (labelShape.length === 2 && labelShape[1] === 1));
      if (!oneLabelEach)
        throw new UserError(
          `${abs}: label: expected shape [${count}] or [${count}, 1] (one per cloud of data), found [${labelShape.join(', ')}]`,
        );
      const values = hdf5Call(abs, 'label: cannot read', () => label.value) as ArrayLike<number | bigint>;
      const labels = Array.from(values, Number);
      return new CloudFile(abs, file, data, labels);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  get count(): number {
    return this.labels.length;
  }

  /** The first 1,024 points of clouds `start` .. `end − 1`, concatenated, in one read. */
  points(start: number, end: number = start + 1): PointsXYZ {
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= this.count)) {
      throw new UserError(
        `${this.path}: clouds ${start}..${end - 1} asked for, but the file holds ${this.count} (0..${this.count - 1})`,
      );
    }
    const values = hdf5Call(this.path, 'data: cannot read', () =>
      this.data.slice([[start, end], [0, POINTS_PER_CLOUD], []]),
    );
    if (!(values instanceof Float32Array) || values.length !== (end - start) * POINTS_PER_CLOUD * 3) {
      throw new UserError(`${this.path}: data: reading clouds ${start}..${end - 1} did not give float32 points`);
    }
    return values;
  }

  /** Cloud `index` with its label; the label must name one of `classCount` classes and every point must be finite. */
  cloud(index: number, classCount: number): LabelledCloud {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new UserError(
        `${this.path}: cloud ${index} is past the end (the file holds ${this.count} clouds, 0..${this.count - 1})`,
      );
    }
    const label = this.label(index, classCount);
    const points = this.points(index);
    requireFinite(this.path, index, points);
    return { points, label };
  }

  /** Cloud `index`'s label, checked against the number of class names. */
  label(index: number, classCount: number): number {
    const label = this.labels[index]!;
    if (!Number.isInteger(label) || label < 0 || label >= classCount) {
      throw new UserError(
        `${this.path}: label[${index}]: ${label} is not a class (there are ${classCount} class names, 0..${classCount - 1})`,
      );
    }
    return label;
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Every coordinate of cloud `index` of `path` is finite; else a UserError naming the first bad point
 * (PointCLIP's projection would silently drop NaN points and turn ∞ into garbage pixels).
 */
export function requireFinite(path: string, index: number, points: PointsXYZ): void {
  const i = points.findIndex((x) => !Number.isFinite(x));
  if (i < 0) return;
  const p = Math.floor(i / 3);
  throw new UserError(
    `${path}: data[${index}]: point ${p} is not finite (${Array.from(points.subarray(p * 3, p * 3 + 3)).join(', ')})`,
  );
}

/** Open files by absolute path, so that evaluating 2,468 clouds opens each h5 file once. */
export class CloudFileCache {
  private readonly files = new Map<string, Promise<CloudFile>>();

  open(path: string): Promise<CloudFile> {
    const abs = resolve(path);
    let file = this.files.get(abs);
    if (!file) {
      file = CloudFile.open(abs);
      this.files.set(abs, file);
      // A failed open is not kept: the next call reports the problem again (or succeeds once fixed).
      file.catch(() => this.files.delete(abs));
    }
    return file;
  }

  async closeAll(): Promise<void> {
    const open = [...this.files.values()];
    this.files.clear();
    for (const file of await Promise.allSettled(open)) if (file.status === 'fulfilled') file.value.close();
  }
}

function dataset(h5wasm: H5Library, file: H5File, path: string, name: string): Dataset {
  const entity = hdf5Call(path, `${name}: cannot read`, () => (file.keys().includes(name) ? file.get(name) : null));
  if (entity === null)
    throw new UserError(`${path}: no dataset "${name}" (the file has: ${file.keys().join(', ') || 'nothing'})`);
  if (!(entity instanceof h5wasm.Dataset)) throw new UserError(`${path}: "${name}" is not a dataset`);
  return entity;
}

/**
 * Refuses what is not HDF5 before the library sees it, and names a file cut short before its signature
 * ended as truncated. (A file cut later is caught by HDF5 itself, which compares its size with the one
 * the superblock records.)
 */
async function checkHdf5Signature(path: string): Promise<void> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(
      `${path}: ${err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.code ?? err.message})`}`,
    );
  });
  if (!info.isFile()) throw new UserError(`${path}: not a file`);
  const handle = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(HDF5_SIGNATURE.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead === 0) throw new UserError(`${path}: empty file (expected HDF5)`);
    if (
      bytesRead < HDF5_SIGNATURE.length &&
      head.subarray(0, bytesRead).equals(HDF5_SIGNATURE.subarray(0, bytesRead))
    ) {
      throw new UserError(`${path}: truncated HDF5 file (${bytesRead} bytes)`);
    }
    // A user block moves the signature to offset 512, 1024, ...; those files are left to HDF5 to judge.
    if (info.size < 512 && !head.equals(HDF5_SIGNATURE))
      throw new UserError(`${path}: not an HDF5 file (no HDF5 signature)`);
  } finally {
    await handle.close();
  }
}

/** Runs an h5wasm call, turning the library's multi-line error stack into one UserError line. */
function hdf5Call<T>(path: string, what: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: ${what}: ${hdf5Problem(err)}`);
  }
}

/**
 * The innermost frame of an HDF5 error stack (the root cause, e.g. "truncated file: eof = 10000, ...,
 * stored_eof = 75863"), in words where the cause is a common one.
 */
function hdf5Problem(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const frames = [...text.matchAll(/#\d+: .*? in [\w.]+\(\): (.*)$/gm)].map((m) => m[1]!.trim());
  const cause = frames.at(-1) ?? (text.split('\n')[0]!.trim() || 'unknown HDF5 error');
  const truncated = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(cause);
  if (truncated)
    return `truncated HDF5 file: ${truncated[1]} bytes on disk, but its superblock records ${truncated[2]}`;
  if (/file signature not found/.test(cause)) return 'not an HDF5 file (no HDF5 signature)';
  return cause;
}

function describeType(type: number, size: number): string {
  if (type === H5T_FLOAT) return `float${size * 8}`;
  if (type === H5T_INTEGER) return `int${size * 8}`;
  return `HDF5 type class ${type}`;
}
