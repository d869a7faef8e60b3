import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { resultsRoot } from '../util/repo-paths.js';
import { collectProvenance, configHash } from '../report/provenance.js';
import { RecordLog } from '../report/records.js';
import { RECORDS_JSONL, RUN_JSON } from '../report/run-files.js';
import { RunLock } from '../report/run-lock.js';
import { readRunJson, type RunDetails, type RunJson, type RunKey } from './run-json.js';

export interface OpenRunFolderOptions {
  /** Parent of default run folders (default `$FALIP_RESULTS`, else `<repo>/results`). */
  root?: string;
  /** Run name, e.g. the table id; the folder is `<root>/<name>-<key hash>`. */
  name: string;
  /**
   * Everything that changes the numbers, and nothing else: it alone decides whether an existing folder
   * is resumed (the model, precision, every method parameter, the data's content hashes, sampling).
   */
  runKey: RunKey;
  /** What readers of run.json want beside the key (titles, labels); changing it never recomputes. */
  details: RunDetails;
  /** Explicit folder (`--out`), used instead of the default name. */
  out?: string;
  /** What only the caller knows (model, device…), stored with the provenance. */
  provenance?: Record<string, unknown>;
}

export interface RunFolder {
  dir: string;
  configHash: string;
  /** The folder already held this run; recorded ids are to be skipped. */
  resumed: boolean;
  records: RecordLog;
  /** Writes `<dir>/<name>` atomically as indented JSON. */
  writeJson(name: string, value: unknown): Promise<void>;
  /** Writes `<dir>/<name>` atomically. */
  writeText(name: string, text: string): Promise<void>;
  /** Records in run.json that every item of the run is recorded (`falip merge` takes only complete shards). */
  markComplete(items: number): Promise<void>;
  /** Releases the folder's lock (also released when the process exits). */
  close(): void;
}

/** Every numeric setting whose key mentions "seed", by dotted path, so a reader finds them at a glance. */
export function seedsOf(config: unknown, path = ''): Record<string, number> {
  if (config === null || typeof config !== 'object') return {};
  const seeds: Record<string, number> = {};
  for (const [key, value] of Object.entries(config)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (typeof value === 'number' && /seed/i.test(key)) seeds[keyPath] = value;
    else Object.assign(seeds, seedsOf(value, keyPath));
  }
  return seeds;
}

/**
 * Where two run keys differ, as paths ("model.sha256", "splits[demo/val].content"): list entries are
 * named by their `key` field where they have one, so the path says which row or column changed.
 */
export function keyDifferences(a: unknown, b: unknown, at = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${at} (${a.length} vs ${b.length} entries)`];
    return a.flatMap((x, i) => {
      const name = (x as { key?: unknown } | null)?.key;
      return keyDifferences(x, b[i], `${at}[${typeof name === 'string' ? name : i}]`);
    });
  }
  if (
    a !== null &&
    b !== null &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) =>
      keyDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k),
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at || '(the whole key)'];
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** The results folder must be a folder we can write; a file or a read-only place is the user's to fix. */
async function makeFolder(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new UserError(`${dir}: is a file, not a results folder (--out names a folder)`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`${dir}: cannot create the results folder (${(e as NodeJS.ErrnoException).code})`);
  }
}

/**
 * Opens the results folder of a run, locked for this process: resumes it when it holds the same run
 * key, creates it otherwise. A changed key hashes to a different default folder, so it starts a new
 * run; an explicit `--out` that holds another key is refused rather than mixed.
 */
export async function openRunFolder(opts: OpenRunFolderOptions): Promise<RunFolder> {
  const hash = configHash(opts.runKey);
  const dir = opts.out ?? join(opts.root ?? resultsRoot(), `${opts.name}-${hash}`);
  const runJsonPath = join(dir, RUN_JSON);
  const recordsPath = join(dir, RECORDS_JSONL);

  await makeFolder(dir);
  const lock = RunLock.acquire(dir);
  try {
    const previous = await readRunJson(runJsonPath);
    if (previous && previous.config_hash !== hash) {
      const differs = keyDifferences(previous.key, opts.runKey);
      const shown =
        differs.length > 3 ? `${differs.slice(0, 3).join(', ')} and ${differs.length - 3} more` : differs.join(', ');
      throw new UserError(
        `${runJsonPath}: holds a different run (key hash ${previous.config_hash}, this one ${hash}; they differ in ${shown}); use another --out`,
      );
    }
    if (!previous && (await exists(recordsPath))) {
      throw new UserError(`${recordsPath}: records without a run.json, so their run is unknown; use another --out`);
    }
    const provenance = collectProvenance(opts.provenance);
    const runJson: RunJson = previous
      ? { ...previous, details: opts.details, resumed_with: [...(previous.resumed_with ?? []), provenance] }
      : {
          name: opts.name,
          config_hash: hash,
          key: opts.runKey,
          details: opts.details,
          seeds: seedsOf(opts.runKey),
          provenance,
        };
    const writeJson = (name: string, value: unknown): Promise<void> =>
      writeFileAtomic(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
    await writeJson(RUN_JSON, runJson);
    return {
      dir,
      configHash: hash,
      resumed: previous !== null,
      records: await RecordLog.open(recordsPath),
      writeJson,
      writeText: (name, text) => writeFileAtomic(join(dir, name), text),
      markComplete: async (items) => {
        runJson.complete = { items };
        await writeJson(RUN_JSON, runJson);
      },
      close: () => lock.release(),
    };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * A resumed folder must hold only records of this run's items: one for another row, split or id (the
 * data or sampling changed under the same key, or the file was edited) is refused, never counted.
 */
export function checkRecordsBelong(records: RecordLog, expected: ReadonlyMap<string, ReadonlySet<string>>): void {
  for (const [index, r] of records.all().entries()) {
    const ids = expected.get(JSON.stringify([r.row, r.split]));
    if (!ids?.has(r.id)) {
      throw new UserError(
        `${records.path}:${index + 1}: a record of row "${r.row}", split "${r.split}", id "${r.id}" is not an item of this run; use another --out`,
      );
    }
  }
}
