import { existsSync } from 'node:fs';
import path from 'node:path';
import { configHash } from '../report/provenance.js';
import { RecordLog, type EvalRecord } from '../report/records.js';
import { RECORDS_JSONL, RUN_JSON } from '../report/run-files.js';
import { openRunFolder } from './run-folder.js';
import { readRunJson, type RunJson, type RunKey } from './run-json.js';
import { UserError } from '../util/errors.js';
import { renderResults, writeTableFiles } from './table-files.js';
import type { ResultsTable } from '../report/results-table.js';

interface Shard {
  dir: string;
  run: RunJson;
  index: number;
  count: number;
  records: readonly EvalRecord[];
}

/** The run key without its shard: what every shard of one run shares, and an unsharded run has. */
function baseKey(key: RunKey): RunKey {
  const { shard: _shard, ...rest } = key;
  return rest;
}

async function readShard(dir: string): Promise<Shard> {
  const run = await readRunJson(path.join(dir, RUN_JSON));
  const file = path.join(dir, RECORDS_JSONL);
  if (!run || !existsSync(file))
    throw new UserError(`${dir}: not a falip results folder (no run.json and records.jsonl)`);
  const shard = run.key.shard;
  if (!shard) throw new UserError(`${dir}: not a shard (made without --shard K/N)`);
  return { dir, run, ...shard, records: (await RecordLog.open(file)).all() };
}

export interface MergeResult {
  dir: string;
  table: ResultsTable;
  shards: number;
  records: number;
  run: RunJson;
}

/**
 * Puts the shards of one run back together: they must share the run key but for the shard, be
 * every shard 0..N−1 exactly once, each complete, and disjoint. The merged folder holds the run key
 * of the unsharded run, every record (in a canonical order) and the table files the unsharded run
 * writes, byte for byte.
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
  for (const s of shards) {
    if (!s.run.complete || s.run.complete.items !== s.records.length) {
      throw new UserError(
        `${s.dir}: shard ${s.index}/${s.count} is incomplete (${s.records.length} of ${s.run.complete?.items ?? 'its'} records): re-run its command to finish it`,
      );
    }
  }
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
  // Canonical order: by that key, computed once per record.
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const records = keyed.map((k) => k.record);
  const details = { ...first.run.details, expected_records: records.length, merged_from: shards.map((s) => s.dir) };
  const run = await openRunFolder({
    name: first.run.name,
    runKey: baseKey(first.run.key),
    details,
    out,
    provenance: { merged_shards: first.count },
  });
  try {
    if (run.records.all().length > 0) throw new UserError(`${out}: already holds records; merge into an empty --out`);
    await run.records.appendAll(records);
    await run.markComplete(records.length);
    const table = renderResults(details.render, run.records.all());
    await writeTableFiles(run.dir, table, records.length);
    return { dir: run.dir, table, shards: first.count, records: records.length, run: { ...first.run, details } };
  } finally {
    run.close();
  }
}
