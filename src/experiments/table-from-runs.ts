import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildResultsTable, type PartialCell, type ResultsTable } from '../report/results-table.js';
import { type EvalRecord, RecordLog } from '../report/records.js';
import { RECORDS_JSONL, RUN_JSON } from '../report/run-files.js';
import { taskNamed } from '../tasks/registry.js';
import { canonicalJson } from '../util/canonical-json.js';
import { UserError } from '../util/errors.js';
import { paperMismatch, randomWeightsNote, sameExperiment } from './paper-applicability.js';
import { readRunJson, type RunJson, type RunRowKey, isDataColumn, recordsSplitOf } from './run-json.js';
import { rowKeyOf, taskRowsOf } from './run-table.js';
import type { TableConfig } from './table-config.js';
import { statusesOf, tableSpecOf } from './table-files.js';

/**
 * `falip table CONFIG --from DIR...`: a config's table from the records of existing results folders,
 * without recomputing. Each cell comes from exactly one run, whose row is the config's row (the same
 * methods, parameters and options on that run's model) and whose model, precision and data are those
 * of every other run the table reads: records of different runs are never pooled into one number. A
 * row keeps the paper's number only where its run ran the paper's experiment.
 */

/** A results folder as `falip table` reads it (without changing it): its run.json and its records. */
interface ResultsFolder {
  dir: string;
  run: RunJson;
  rows: Map<string, RunRowKey>;
  records: readonly EvalRecord[];
}

async function readResultsFolder(dir: string): Promise<ResultsFolder> {
  const run = await readRunJson(path.join(dir, RUN_JSON));
  const file = path.join(dir, RECORDS_JSONL);
  if (!run || !existsSync(file))
    throw new UserError(`${dir}: not a falip results folder (no run.json and records.jsonl)`);
  return { dir, run, rows: new Map(run.key.rows.map((r) => [r.key, r])), records: await RecordLog.read(file) };
}

/** The folders must share a model and precision, and give each split they share the same content. */
function requireOneModelAndData(folders: readonly ResultsFolder[]): void {
  const [first] = folders;
  if (!first) return;
  const model = (f: ResultsFolder) => canonicalJson(f.run.key.model);
  for (const f of folders.slice(1)) {
    if (model(f) !== model(first)) {
      const m = (x: ResultsFolder) =>
        `${x.run.details.model.name} ${x.run.key.model.sha256.slice(0, 12)} ${x.run.key.model.precision}`;
      throw new UserError(
        `falip table --from: ${f.dir} ran another model than ${first.dir} (${m(f)} vs ${m(first)}): one table shows one model`,
      );
    }
  }
  const contentOf = new Map<string, { dir: string; content: string }>();
  for (const f of folders) {
    for (const c of f.run.key.splits) {
      const seen = contentOf.get(c.key);
      if (seen && seen.content !== c.content)
        throw new UserError(
          `falip table --from: ${f.dir} and ${seen.dir} ran on different data under the name ${c.key} (content ${c.content.slice(0, 12)} vs ${seen.content.slice(0, 12)})`,
        );
      if (!seen) contentOf.set(c.key, { dir: f.dir, content: c.content });
    }
  }
}

/** The config's row as the folder would have run it: its methods with every parameter resolved on that model. */
function configRowOn(cfg: TableConfig, row: TableConfig['rows'][number], folder: ResultsFolder): RunRowKey {
  try {
    return rowKeyOf(taskRowsOf({ ...cfg, rows: [row] }, folder.run.details.model.vision)[0]!);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(
      `falip table --from: ${folder.dir}: row ${row.key} of ${cfg.name} does not fit its model (${e.message})`,
    );
  }
}

/** How a run's row differs from the config's, e.g. `falip alpha 5 (table1 has 0.2)`. */
function rowDifference(ran: RunRowKey, wanted: RunRowKey, config: string): string {
  const names = (r: RunRowKey) => r.methods.map((m) => m.name).join(' + ');
  if (names(ran) !== names(wanted)) return `${names(ran)} (${config} has ${names(wanted)})`;
  const diffs = ran.methods.flatMap((m, i) => {
    const other = wanted.methods[i]!.params;
    const keys = [...new Set([...Object.keys(m.params), ...Object.keys(other)])].sort();
    return keys
      .filter((k) => canonicalJson(m.params[k]) !== canonicalJson(other[k]))
      .map((k) => `${m.name} ${k} ${canonicalJson(m.params[k])} (${config} has ${canonicalJson(other[k])})`);
  });
  if (canonicalJson(ran.options) !== canonicalJson(wanted.options))
    diffs.push(`options ${canonicalJson(ran.options)} (${config} has ${canonicalJson(wanted.options)})`);
  return diffs.join(', ');
}

/** What the cells of the table are made of: each cell's records from its one run, and how far that run got. */
interface Cells {
  records: EvalRecord[];
  partial: Record<string, Record<string, PartialCell>>;
  /** For each row, the folder its cells come from (the first column that has one), for the paper check. */
  sourceOf: Map<string, ResultsFolder>;
}

/**
 * Each (row, data) cell from the one folder that ran it: two folders that both ran it are an error
 * naming both, as is a folder whose row of that key ran other parameters than the config says. A
 * folder whose run did not finish gives its records as a partial cell ("partial (16 of 60)").
 */
function cellsOf(cfg: TableConfig, folders: readonly ResultsFolder[]): Cells {
  const records: EvalRecord[] = [];
  const partial: Cells['partial'] = {};
  const sourceOf = new Map<string, ResultsFolder>();
  // The records' splits the data columns read (a base-to-new half is a split of its own).
  const datas = [...new Set(cfg.columns.filter(isDataColumn).map(recordsSplitOf))];
  for (const row of cfg.rows) {
    if (row.status || !row.methods) continue;
    for (const data of datas) {
      const ran = folders.filter((f) => f.rows.has(row.key) && f.run.key.splits.some((c) => c.key === data));
      if (ran.length > 1)
        throw new UserError(
          `falip table --from: row ${row.key} on ${data} was run by both ${ran[0]!.dir} and ${ran[1]!.dir}: give one of them (a cell comes from one run)`,
        );
      const folder = ran[0];
      if (!folder) continue;
      const wanted = configRowOn(cfg, row, folder);
      const ranRow = folder.rows.get(row.key)!;
      if (!sameExperiment(ranRow, wanted))
        throw new UserError(
          `falip table --from: ${folder.dir}: its row ${row.key} ran ${rowDifference(ranRow, wanted, cfg.name)}: not the config's experiment, so not its row`,
        );
      if (!sourceOf.has(row.key)) sourceOf.set(row.key, folder);
      const own = folder.records.filter((r) => r.row === row.key && r.split === data);
      records.push(...own);
      const items = folder.run.items?.[data]?.count;
      if (!folder.run.complete && own.length < (items ?? Number.POSITIVE_INFINITY)) {
        partial[row.key] ??= {};
        partial[row.key]![data] = { n: own.length, of: items ?? null };
      }
    }
  }
  return { records, partial, sourceOf };
}

/**
 * Which rows' paper numbers apply to what the folders hold: a row keeps the paper's number only if the
 * folder that ran it used the same methods, parameters and options on a model of the paper's geometry.
 */
function withheldRows(
  cfg: TableConfig,
  sourceOf: ReadonlyMap<string, ResultsFolder>,
): { withheld: Set<string>; reasons: string[] } {
  const withheld = new Set<string>();
  const reasons: string[] = [];
  for (const row of cfg.rows) {
    if (Object.keys(row.paper).length === 0 || !row.methods) continue;
    const folder = sourceOf.get(row.key);
    if (!folder) continue;
    const ran = folder.rows.get(row.key)!;
    const { vision, random_weights: randomWeights } = folder.run.details.model;
    const reason = paperMismatch({ vision, randomWeights }, cfg.arch, ran, configRowOn(cfg, row, folder));
    if (reason) {
      withheld.add(row.key);
      reasons.push(`Row ${row.label} from ${folder.dir}: custom, paper n/a: ${reason}.`);
    }
  }
  return { withheld, reasons };
}

/** The table of `cfg` from the records of the results folders `dirs`, and the records it used. */
export async function tableFromRuns(
  cfg: TableConfig,
  dirs: readonly string[],
): Promise<{ table: ResultsTable; records: EvalRecord[] }> {
  const task = taskNamed(cfg.task);
  const folders = await Promise.all(dirs.map(readResultsFolder));
  requireOneModelAndData(folders);
  const { records, partial, sourceOf } = cellsOf(cfg, folders);
  const { withheld, reasons } = withheldRows(cfg, sourceOf);
  // One model per table (checked above): random weights show no paper number anywhere, and say why first.
  const random = folders[0]?.run.details.model.random_weights ?? null;
  const unfinished = folders.filter((f) => !f.run.complete).map((f) => f.dir);
  const footnotes = [
    ...(random ? [randomWeightsNote(random)] : []),
    ...cfg.footnotes,
    ...(random ? [] : reasons),
    ...(unfinished.length > 0
      ? [
          `Cells marked "partial (n of m)" come from runs that did not finish (${unfinished.join(', ')}): n of their m items.`,
        ]
      : []),
    `Rendered from ${dirs.join(', ')} (see each run.json for methods, model and seeds).`,
  ];
  const table = buildResultsTable(
    tableSpecOf(cfg, task, footnotes, withheld, { hidePaper: Boolean(random) }),
    records,
    {
      statuses: statusesOf(cfg, []),
      partial,
    },
  );
  return { table, records };
}
