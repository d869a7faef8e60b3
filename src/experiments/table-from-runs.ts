import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildResultsTable, type ResultsTable } from '../report/results-table.js';
import { type EvalRecord, RecordLog } from '../report/records.js';
import { RECORDS_JSONL, RUN_JSON } from '../report/run-files.js';
import { taskNamed } from '../tasks/registry.js';
import { UserError } from '../util/errors.js';
import { paperMismatch, type RanOn, randomWeightsNote } from './paper-applicability.js';
import { readRunJson, type RunRowKey } from './run-json.js';
import { rowKeyOf, taskRowsOf } from './run-table.js';
import type { TableConfig } from './table-config.js';
import { statusesOf, tableSpecOf } from './table-files.js';

/**
 * `falip table CONFIG --from DIR...`: a config's table from the records of existing results folders,
 * without recomputing; a row keeps the paper's number only where its folder ran the paper's experiment.
 */

/** A results folder as `falip table` reads it: its rows' run keys, its model's geometry, its records. */
interface ResultsFolder {
  dir: string;
  rows: Map<string, RunRowKey>;
  model: RanOn;
  records: readonly EvalRecord[];
}

async function readResultsFolder(dir: string): Promise<ResultsFolder> {
  const runJson = await readRunJson(path.join(dir, RUN_JSON));
  const file = path.join(dir, RECORDS_JSONL);
  if (!runJson || !existsSync(file))
    throw new UserError(`${dir}: not a falip results folder (no run.json and records.jsonl)`);
  return {
    dir,
    rows: new Map(runJson.key.rows.map((r) => [r.key, r])),
    model: { vision: runJson.details.model.vision, randomWeights: runJson.details.model.random_weights },
    records: (await RecordLog.open(file)).all(),
  };
}

/**
 * Which rows' paper numbers apply to what the folders hold: a row keeps the paper's number only if the
 * folder that ran it used the same methods, parameters and options on a model of the paper's geometry.
 */
function withheldRows(
  cfg: TableConfig,
  folders: readonly ResultsFolder[],
): { withheld: Set<string>; reasons: string[] } {
  const withheld = new Set<string>();
  const reasons: string[] = [];
  for (const row of cfg.rows) {
    if (Object.keys(row.paper).length === 0 || !row.methods) continue;
    const folder = folders.find((f) => f.rows.has(row.key));
    if (!folder) continue;
    const ran = folder.rows.get(row.key)!;
    let reason: string | undefined;
    try {
      const paper = rowKeyOf(taskRowsOf({ ...cfg, rows: [row] }, folder.model.vision)[0]!);
      reason = paperMismatch(folder.model, cfg.arch, ran, paper);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      reason = `the paper's row does not fit its model (${e.message})`;
    }
    if (reason) {
      withheld.add(row.key);
      reasons.push(`Row ${row.label} from ${folder.dir}: custom, paper n/a: ${reason}.`);
    }
  }
  return { withheld, reasons };
}

/** Records of several run folders; a (row, column, id) seen twice keeps the first folder's record. */
function collectRecords(folders: readonly ResultsFolder[]): EvalRecord[] {
  const seen = new Set<string>();
  const out: EvalRecord[] = [];
  for (const f of folders) {
    for (const r of f.records) {
      const key = JSON.stringify([r.row, r.split, r.id]);
      if (!seen.has(key)) out.push(r);
      seen.add(key);
    }
  }
  return out;
}

/** The table of `cfg` from the records of the results folders `dirs`, and the records it used. */
export async function tableFromRuns(
  cfg: TableConfig,
  dirs: readonly string[],
): Promise<{ table: ResultsTable; records: EvalRecord[] }> {
  const task = taskNamed(cfg.task);
  const folders = await Promise.all(dirs.map(readResultsFolder));
  const records = collectRecords(folders);
  // Folders of random weights only: no paper number anywhere, and the table says why first.
  const random = folders.every((f) => f.model.randomWeights !== null) ? folders[0]?.model.randomWeights : null;
  const { withheld, reasons } = withheldRows(cfg, folders);
  const footnotes = [
    ...(random ? [randomWeightsNote(random)] : []),
    ...cfg.footnotes,
    ...(random ? [] : reasons),
    `Rendered from ${dirs.join(', ')} (see each run.json for methods, model and seeds).`,
  ];
  const table = buildResultsTable(
    tableSpecOf(cfg, task, footnotes, withheld, { hidePaper: Boolean(random) }),
    records,
    {
      statuses: statusesOf(cfg, []),
    },
  );
  return { table, records };
}
