import { open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../util/errors.js';
import { decodeUtf8 } from '../util/text-file.js';
import { digestProblem } from './check-report.js';
import type { ReadFile } from './content-hash.js';
import { DATASET_INFO_FILE, parseDatasetInfo, type DatasetInfo } from './dataset-info.js';

/** A file as it was when it was read: a replaced file (a re-import renames new files in) has a new inode. */
interface Stamp {
  path: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** The files of a dataset folder that a split was loaded from, as text, with their bytes for the content hash. */
export interface SplitFiles {
  /** Text by file name (`manifest.jsonl`), strict UTF-8. */
  texts: Record<string, string>;
  /** The same files as bytes, in the order asked for. */
  read: ReadFile[];
  /** dataset.json as it was read with them. */
  info: DatasetInfo;
}

/** What a split's content hash is made of, beyond its folder's files. */
export interface ContentOf {
  hash: string;
  /** Files outside the folder the hash covers (a point cloud's h5 files): watched like the folder's own. */
  watch?: readonly string[];
}

async function readStamped(path: string): Promise<{ bytes: Buffer; stamp: Stamp }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: ${code === 'ENOENT' ? 'not found' : `cannot read (${code})`}`);
  }
  try {
    // One open file: the stamp and the bytes are of the same inode, whatever renames happen meanwhile.
    const st = await handle.stat();
    const bytes = await handle.readFile();
    return { bytes, stamp: { path, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } };
  } finally {
    await handle.close();
  }
}

async function stampOf(path: string): Promise<Stamp | undefined> {
  const st = await stat(path).catch(() => undefined);
  return st && { path, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

function sameStamp(a: Stamp, b: Stamp | undefined): boolean {
  return b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * The content hash a run was keyed with, pinned to the files it was computed from. A re-import swaps a
 * whole new folder in while an evaluation may still be running; records computed on the old data must
 * never land under a key that says the new data (nor the reverse). So the evaluation verifies the pin
 * before every append (cheap: a stat of each pinned file; only a changed file costs recomputing the
 * hash) and fully before it finishes (the images' sizes too). A change of content is a one-line
 * UserError: the run stops and appends nothing more.
 */
export class DatasetPin {
  private constructor(
    readonly dir: string,
    readonly contentHash: string,
    private stamps: Stamp[],
    private readonly recompute: () => Promise<{ hash: string; stamps: Stamp[] }>,
  ) {}

  /**
   * Reads `names` and dataset.json from the dataset folder `dir` at once, refuses a folder whose files
   * are not the ones its dataset.json says its import wrote (a mix of two imports), `parse`s them (which
   * checks every line, as `data check` does) and pins the content hash `contentOf` computes from exactly
   * the bytes that were parsed. Verifying the pin later reads, parses and hashes the folder again.
   */
  static async load<P>(
    dir: string,
    names: readonly string[],
    parse: (files: SplitFiles) => P,
    contentOf: (files: SplitFiles, parsed: P) => Promise<ContentOf>,
  ): Promise<{ parsed: P; files: SplitFiles; pin: DatasetPin }> {
    const readAll = async () => {
      const all = [...names, DATASET_INFO_FILE];
      const found = await Promise.all(all.map((n) => readStamped(join(dir, n))));
      const texts = Object.fromEntries(all.map((n, i) => [n, decodeUtf8(found[i]!.bytes, join(dir, n))]));
      const files: SplitFiles = {
        texts,
        read: found.slice(0, names.length).map((f) => ({ path: f.stamp.path, bytes: f.bytes })),
        info: parseDatasetInfo(texts[DATASET_INFO_FILE]!, join(dir, DATASET_INFO_FILE)),
      };
      requireWholeFolder(dir, files);
      const parsed = parse(files);
      const content = await contentOf(files, parsed);
      const watched = await Promise.all((content.watch ?? []).map(stampOf));
      const stamps = [...found.map((f) => f.stamp), ...watched.filter((s): s is Stamp => s !== undefined)];
      return { files, parsed, hash: content.hash, stamps };
    };
    const first = await readAll();
    const pin = new DatasetPin(dir, first.hash, first.stamps, async () => {
      const again = await readAll();
      return { hash: again.hash, stamps: again.stamps };
    });
    return { parsed: first.parsed, files: first.files, pin };
  }

  /**
   * Refuses when the folder no longer holds the content this run pinned. `full` recomputes the hash
   * whatever the stamps say (before a run is marked complete: images are not stamped one by one).
   */
  async verify(full = false): Promise<void> {
    const now = await Promise.all(this.stamps.map((s) => stampOf(s.path)));
    const changed = this.stamps.some((s, i) => !sameStamp(s, now[i]));
    if (!changed && !full) return;
    let hash: string;
    try {
      ({ hash } = await this.recompute().then((r) => {
        if (r.hash === this.contentHash) this.stamps = r.stamps;
        return r;
      }));
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      throw new UserError(
        `${this.dir}: the dataset changed while this run read it (${err.message}); nothing more is recorded: run the command again`,
      );
    }
    if (hash !== this.contentHash) {
      throw new UserError(
        `${this.dir}: the dataset changed while this run read it (content ${this.contentHash.slice(0, 12)} at the start, ${hash.slice(0, 12)} now: re-imported?); nothing more is recorded: run the command again`,
      );
    }
  }
}

/** A folder that mixes two imports (or was edited) is refused before anything is parsed (see `digestProblem`). */
function requireWholeFolder(dir: string, files: Pick<SplitFiles, 'read' | 'info'>): void {
  for (const f of files.read) {
    const problem = digestProblem(dir, basename(f.path), f.bytes, files.info);
    if (problem) throw new UserError(problem);
  }
}
