import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { configHash } from '../report/provenance.js';
import { RecordLog, type EvalRecord } from '../report/records.js';
import { RECORDS_JSONL, RUN_JSON } from '../report/run-files.js';
import type { ResultsTable } from '../report/results-table.js';
import { parseTempName, removeStaleTemps, tempPathFor } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { FileLock } from '../util/file-lock.js';
import { withFsErrors } from '../util/fs-errors.js';
import { checkOwnFolder } from '../util/output-target.js';
import { sha256Hex } from '../util/sha256.js';
import { itemListOf, openRunFolder } from './run-folder.js';
import { readRunJson, type RunJson, type RunKey } from './run-json.js';
import { writeSweepResults } from './sweep-plots.js';
import { renderResults, writeTableFiles } from './table-files.js';

interface Shard {
  dir: string;
  run: RunJson;
  index: number;
  count: number;
  records: readonly EvalRecord[];
  /** records.jsonl's bytes as read, for the hash run.json recorded when the shard finished. */
  bytes: Buffer;
}

/** The run key without its shard: what every shard of one run shares, and an unsharded run has. */
function baseKey(key: RunKey): RunKey {
  const { shard: _shard, ...rest } = key;
  return rest;
}

/** A shard's folder, read without changing it (a refused merge changes nothing, the shards included). */
async function readShard(dir: string): Promise<Shard> {
  const run = await readRunJson(path.join(dir, RUN_JSON));
  const file = path.join(dir, RECORDS_JSONL);
  if (!run || !existsSync(file))
    throw new UserError(`${dir}: not a falip results folder (no run.json and records.jsonl)`);
  const shard = run.key.shard;
  if (!shard) throw new UserError(`${dir}: not a shard (made without --shard K/N)`);
  const bytes = await withFsErrors(() => readFile(file));
  return { dir, run, ...shard, records: await RecordLog.read(file), bytes };
}

/**
 * A shard's records are the ones its run wrote when it finished: as many as its items, byte for byte
 * what run.json's hash says (a record edited by hand is refused), every one a record of a row and split
 * of the run, and per row and split exactly the run's items (a renamed id is refused). Folders of older
 * falip versions recorded no hash and no item list; only their counts are checked.
 */
function checkShardRecords(s: Shard): void {
  const where = `${s.dir}: shard ${s.index}/${s.count}`;
  const done = s.run.complete;
  if (!done || s.records.length < done.items)
    throw new UserError(
      `${where} is incomplete (${s.records.length} of ${done?.items ?? 'its'} records): re-run its command to finish it`,
    );
  if (s.records.length > done.items)
    throw new UserError(
      `${where} holds ${s.records.length} records, but its run has ${done.items} items: records were added after it finished (by hand, or another run); re-run its command into a new folder`,
    );
  const file = path.join(s.dir, RECORDS_JSONL);
  if (done.records_sha256 !== undefined && sha256Hex(s.bytes) !== done.records_sha256)
    throw new UserError(
      `${file}: changed since the shard finished (its sha256 is not the one in run.json): a record was edited; re-run the shard's command into a new folder`,
    );
  const rows = new Set(s.run.key.rows.map((r) => r.key));
  const splits = new Set(s.run.key.splits.map((c) => c.key));
  const ids = new Map<string, string[]>();
  for (const [i, r] of s.records.entries()) {
    if (!rows.has(r.row) || !splits.has(r.split))
      throw new UserError(
        `${file}:${i + 1}: a record of row "${r.row}", split "${r.split}", which this run does not have`,
      );
    const cell = JSON.stringify([r.row, r.split]);
    ids.set(cell, [...(ids.get(cell) ?? []), r.id]);
  }
  if (!s.run.items) return;
  for (const row of rows) {
    for (const split of splits) {
      const expected = s.run.items[split];
      const found = itemListOf(ids.get(JSON.stringify([row, split])) ?? []);
      if (expected && (found.count !== expected.count || found.ids_sha256 !== expected.ids_sha256))
        throw new UserError(
          `${file}: the records of row "${row}" on ${split} are not the items of the run (${found.count} records, ${expected.count} items, other ids): an id was changed`,
        );
    }
  }
}

export interface MergeResult {
  dir: string;
  table: ResultsTable;
  shards: number;
  records: number;
  run: RunJson;
  /** The sweep plots written (a sweep's shards). */
  plots: string[];
}

/**
 * The merge's --out: missing, empty, or a results folder of this very run (an earlier or interrupted
 * merge, which is then replaced whole). Anything else is refused before any file is written.
 */
async function checkMergeTarget(out: string, key: RunKey): Promise<void> {
  await checkOwnFolder(out, '--out', 'a falip results folder (no run.json)', (names) => names.includes(RUN_JSON));
  const existing = await readRunJson(path.join(out, RUN_JSON));
  if (existing && existing.config_hash !== configHash(key))
    throw new UserError(
      `${out}: holds another run (key hash ${existing.config_hash}, these shards make ${configHash(key)}); use another --out`,
    );
}

/**
 * Puts the shards of one run back together: they must share the run key but for the shard, be
 * every shard 0..N−1 exactly once, each complete and unchanged since it finished, and disjoint. The
 * merged folder holds the run key of the unsharded run, every record (in a canonical order) and the
 * table files (and sweep plots) the unsharded run writes, byte for byte.
 *
 * Everything is checked before anything is written, so a refused merge changes nothing. The merged
 * folder is built under a temporary name beside --out and renamed into place whole, so a killed merge
 * leaves no half folder, and running the same merge again finishes it.
 */
export async function mergeShards(dirs: readonly string[], out: string): Promise<MergeResult> {
  const shards = await Promise.all(dirs.map(readShard));
  const first = shards[0]!;
  const base = configHash(baseKey(first.run.key));
  for (const s of shards) {
    if (configHash(baseKey(s.run.key)) !== base)
      throw new UserError(
        `${s.dir}: another run than ${first.dir} (run key ${configHash(baseKey(s.run.key))} vs ${base}: model, data, sampling or methods differ)`,
      );
    if (s.count !== first.count)
      throw new UserError(`${s.dir}: shard ${s.index}/${s.count}, but ${first.dir} is one of ${first.count}`);
  }
  for (let k = 0; k < first.count; k++) {
    const copies = shards.filter((s) => s.index === k);
    if (copies.length === 0)
      throw new UserError(
        `shard ${k}/${first.count} is missing (given: ${shards
          .map((s) => s.index)
          .sort((a, b) => a - b)
          .join(', ')})`,
      );
    if (copies.length > 1)
      throw new UserError(`shard ${k}/${first.count} is given twice: ${copies.map((s) => s.dir).join(' and ')}`);
  }
  for (const s of shards) checkShardRecords(s);
  const seen = new Map<string, string>();
  const keyed: { key: string; record: EvalRecord }[] = [];
  for (const s of shards) {
    for (const r of s.records) {
      const key = JSON.stringify([r.row, r.split, r.id]);
      const other = seen.get(key);
      if (other)
        throw new UserError(
          `${s.dir}: record row "${r.row}", split "${r.split}", id "${r.id}" is also in ${other}: the shards overlap`,
        );
      seen.set(key, s.dir);
      keyed.push({ key, record: r });
    }
  }
  const runKey = baseKey(first.run.key);
  await checkMergeTarget(out, runKey);

  // Canonical order: by that key, computed once per record.
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const records = keyed.map((k) => k.record);
  const details = { ...first.run.details, expected_records: records.length, merged_from: shards.map((s) => s.dir) };
  const firstRow = runKey.rows[0]?.key;
  const items = Object.fromEntries(
    runKey.splits.map((c) => [
      c.key,
      itemListOf(records.filter((r) => r.row === firstRow && r.split === c.key).map((r) => r.id)),
    ]),
  );

  const target = path.resolve(out);
  const parent = path.dirname(target);
  await removeStaleTemps(parent, (n) => parseTempName(n)?.target !== path.basename(target));
  const staging = tempPathFor(target);
  try {
    const run = await openRunFolder({
      name: first.run.name,
      runKey,
      details,
      out: staging,
      provenance: { merged_shards: first.count },
      items,
    });
    let table: ResultsTable;
    let plots: string[] = [];
    try {
      await run.records.appendAll(records);
      await run.markComplete(records.length);
      table = renderResults(details.render, run.records.all());
      await writeTableFiles(run.dir, table, records.length);
      if (details.sweep) plots = (await writeSweepResults(run.dir, table, details.sweep)).plots;
    } finally {
      await run.close();
    }
    await withFsErrors(() => swapInto(staging, target));
    return {
      dir: out,
      table,
      shards: first.count,
      records: records.length,
      run: { ...first.run, details },
      plots: plots.map((p) => path.join(out, path.basename(p))),
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Puts the finished folder at `target`: a rename onto nothing or an empty folder; an earlier merge of
 * the same run there (a results folder no run holds: its lock is taken) is moved aside, replaced, and
 * deleted.
 */
async function swapInto(staging: string, target: string): Promise<void> {
  const st = await stat(target).catch(() => undefined);
  if (!st || (await readdir(target)).length === 0) {
    await rename(staging, target);
    return;
  }
  const lock = FileLock.acquire(path.join(target, '.lock'), {
    what: target,
    advice: 'wait for it to finish, then merge again',
  });
  try {
    const aside = tempPathFor(target, 'old');
    await rename(target, aside);
    await rename(staging, target);
    await rm(aside, { recursive: true, force: true });
  } finally {
    lock.release();
  }
}
