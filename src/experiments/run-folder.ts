import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeStaleTemps, writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { FileLock, type LockWords, refuseIfHeld } from '../util/file-lock.js';
import { withFsErrors } from '../util/fs-errors.js';
import { checkOwnFolder } from '../util/output-target.js';
import { resultsRoot } from '../util/repo-paths.js';
import { sha256Hex } from '../util/sha256.js';
import { collectProvenance, configHash } from '../report/provenance.js';
import { IntermediateLog, type JsonlLog, type LogEntry, RecordLog } from '../report/records.js';
import { INTERMEDIATE_JSONL, RECORDS_JSONL, RUN_JSON } from '../report/run-files.js';
import { readRunJson, type ItemList, type RunDetails, type RunJson, type RunKey } from './run-json.js';

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
  /** Per split, the items one row evaluates (`itemListOf`): `falip merge` checks every record's id against it. */
  items?: Record<string, ItemList>;
}

export interface RunFolder {
  dir: string;
  configHash: string;
  /** The folder already held this run; recorded ids are to be skipped. */
  resumed: boolean;
  records: RecordLog;
  /** Per-item results a row needs before it can write records (see IntermediateLog). */
  intermediate: IntermediateLog;
  /** Writes `<dir>/<name>` atomically as indented JSON. */
  writeJson(name: string, value: unknown): Promise<void>;
  /** Writes `<dir>/<name>` atomically. */
  writeText(name: string, text: string): Promise<void>;
  /**
   * Records in run.json that every item of the run is recorded, with the sha256 of records.jsonl as
   * written (`falip merge` takes only complete shards, and only records that are still those).
   */
  markComplete(items: number): Promise<void>;
  /**
   * Stops the records log (waiting for appends in flight), then releases the folder's lock: once a
   * run has failed, nothing more is appended, and another process may take the folder. The lock is
   * also released when the process exits.
   */
  close(): Promise<void>;
}

/** A split's item list as run.json keeps it: how many, and the sha256 of the sorted ids, one a line. */
export function itemListOf(ids: Iterable<string>): ItemList {
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { count: sorted.length, ids_sha256: sha256Hex(sorted.map((id) => `${id}\n`).join('')) };
}

/** The sha256 of a records file's bytes as they are now (what `markComplete` records and merge checks). */
export async function recordsSha256(file: string): Promise<string> {
  return sha256Hex(await readFile(file).catch(() => Buffer.alloc(0)));
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

/**
 * What a results folder may be before a run opens it: missing, empty, or a results folder (with a
 * run.json, whose key is then compared). A folder of the user's, or `/`, is refused before anything is
 * written into it.
 */
export function checkResultsFolder(dir: string): Promise<void> {
  return checkOwnFolder(dir, '--out', 'a falip results folder (no run.json)', (names) => {
    // Another run that has just taken the folder and not yet written its run.json: refused as in use.
    refuseIfHeld(join(dir, '.lock'), resultsLockWords(dir));
    return names.includes(RUN_JSON);
  });
}

/** What the results folder's lock says when it is refused. */
function resultsLockWords(dir: string): LockWords {
  return { what: dir, advice: 'wait for it to finish, or use another --out' };
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

  await checkResultsFolder(dir);
  await withFsErrors(() => mkdir(dir, { recursive: true }));
  const lock = FileLock.acquire(join(dir, '.lock'), resultsLockWords(dir));
  const logs = { records: undefined as RecordLog | undefined, intermediate: undefined as IntermediateLog | undefined };
  try {
    await removeStaleTemps(dir);
    const previous = await readRunJson(runJsonPath);
    if (previous && previous.config_hash !== hash) {
      const differs = keyDifferences(previous.key, opts.runKey);
      const shown =
        differs.length > 3 ? `${differs.slice(0, 3).join(', ')} and ${differs.length - 3} more` : differs.join(', ');
      throw new UserError(
        `${runJsonPath}: holds a different run (key hash ${previous.config_hash}, this one ${hash}; they differ in ${shown}); use another --out`,
      );
    }
    const provenance = collectProvenance(opts.provenance);
    const runJson: RunJson = previous
      ? {
          ...previous,
          details: opts.details,
          items: opts.items,
          resumed_with: [...(previous.resumed_with ?? []), provenance],
        }
      : {
          name: opts.name,
          config_hash: hash,
          key: opts.runKey,
          details: opts.details,
          seeds: seedsOf(opts.runKey),
          provenance,
          items: opts.items,
        };
    // A full disk or a folder made read-only is one line naming the file, never a stack trace.
    const writeText = (name: string, text: string): Promise<void> =>
      withFsErrors(() => writeFileAtomic(join(dir, name), text));
    const writeJson = (name: string, value: unknown): Promise<void> =>
      writeText(name, `${JSON.stringify(value, null, 2)}\n`);
    logs.records = await RecordLog.open(recordsPath);
    logs.intermediate = await IntermediateLog.open(join(dir, INTERMEDIATE_JSONL));
    await writeJson(RUN_JSON, runJson);
    const { records: log, intermediate } = logs;
    return {
      dir,
      configHash: hash,
      resumed: previous !== null,
      records: log,
      intermediate,
      writeJson,
      writeText,
      markComplete: async (items) => {
        runJson.complete = { items, records_sha256: await recordsSha256(recordsPath) };
        await writeJson(RUN_JSON, runJson);
      },
      close: async () => {
        try {
          await Promise.all([log.close(), intermediate.close()]);
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    await Promise.all([logs.records?.close(), logs.intermediate?.close()]);
    lock.release();
    throw e;
  }
}

/**
 * A resumed folder must hold only records of this run's items: one for another row, split or id (the
 * data or sampling changed under the same key, or the file was edited) is refused, never counted.
 */
export function checkRecordsBelong(
  records: JsonlLog<LogEntry>,
  expected: ReadonlyMap<string, ReadonlySet<string>>,
): void {
  for (const [index, r] of records.all().entries()) {
    const ids = expected.get(JSON.stringify([r.row, r.split]));
    if (!ids?.has(r.id)) {
      throw new UserError(
        `${records.path}:${index + 1}: a record of row "${r.row}", split "${r.split}", id "${r.id}" is not an item of this run; use another --out`,
      );
    }
  }
}
