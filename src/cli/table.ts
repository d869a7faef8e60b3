import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { matchesPaperArch } from '../experiments/paper-arch.js';
import { sameExperiment } from '../experiments/paper-lookup.js';
import { rowKeyOf, taskRowsOf, type RunRowKey } from '../experiments/run-table.js';
import { statusesOf, tableSpecOf, writeTableFiles } from '../experiments/table-files.js';
import { readTableConfig, type TableConfig } from '../experiments/table-config.js';
import type { VisionConfig } from '../model/clip-config.js';
import { buildResultsTable } from '../report/results-table.js';
import { RecordLog, type EvalRecord } from '../report/records.js';
import { readRunJson } from '../report/run-folder.js';
import { taskNamed } from '../tasks/registry.js';
import { canonicalJson } from '../util/canonical-json.js';
import { UserError } from '../util/errors.js';
import { makeOption } from './options.js';
import { printTableResult } from './table-output.js';

/** A results folder as `falip table` reads it: its rows' run keys, its model's geometry, its records. */
interface ResultsFolder {
  dir: string;
  rows: Map<string, RunRowKey>;
  vision: VisionConfig;
  records: readonly EvalRecord[];
}

async function readResultsFolder(dir: string): Promise<ResultsFolder> {
  const runJson = await readRunJson(path.join(dir, 'run.json'));
  const file = path.join(dir, 'records.jsonl');
  if (!runJson || !existsSync(file))
    throw new UserError(`${dir}: not a falip results folder (no run.json and records.jsonl)`);
  const key = runJson.key as { rows?: RunRowKey[] };
  const vision = (runJson.details as { model?: { vision?: VisionConfig } } | undefined)?.model?.vision;
  if (!key.rows || !vision)
    throw new UserError(`${dir}/run.json: has no rows or model geometry (made by an older falip?)`);
  return { dir, rows: new Map(key.rows.map((r) => [r.key, r])), vision, records: (await RecordLog.open(file)).all() };
}

/** What differs between the row that was run and the paper's, e.g. `alpha 5 (paper 0.2), layers [0..11] (paper [8,9,10,11])`. */
function difference(ran: RunRowKey, paper: RunRowKey): string {
  if (ran.methods.length !== paper.methods.length || ran.methods.some((m, i) => m.name !== paper.methods[i]!.name)) {
    return `methods ${ran.methods.map((m) => m.name).join(' + ')} (paper ${paper.methods.map((m) => m.name).join(' + ')})`;
  }
  const diffs = ran.methods.flatMap((m, i) =>
    Object.keys(m.params)
      .filter((k) => canonicalJson(m.params[k]) !== canonicalJson(paper.methods[i]!.params[k]))
      .map(
        (k) => `${m.name} ${k} ${JSON.stringify(m.params[k])} (paper ${JSON.stringify(paper.methods[i]!.params[k])})`,
      ),
  );
  if (canonicalJson(ran.options) !== canonicalJson(paper.options))
    diffs.push(`options ${canonicalJson(ran.options)} (paper ${canonicalJson(paper.options)})`);
  return diffs.join(', ');
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
    if (!matchesPaperArch(folder.vision, cfg.arch)) {
      reason = `its model has patch ${folder.vision.patchSize}, ${folder.vision.imageSize} px, ${folder.vision.numLayers} layers, the paper's is ${cfg.arch}`;
    } else {
      try {
        const paper = rowKeyOf(taskRowsOf({ ...cfg, rows: [row] }, folder.vision)[0]!);
        if (!sameExperiment(ran, paper)) reason = `it was run with ${difference(ran, paper)}`;
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        reason = `the paper's row does not fit its model (${e.message})`;
      }
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
      const key = JSON.stringify([r.row, r.column, r.id]);
      if (!seen.has(key)) out.push(r);
      seen.add(key);
    }
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('table <config>')
    .description('re-render a table config from existing results folders without recomputing anything')
    .requiredOption(
      '--from <dirs...>',
      'results folders whose records.jsonl fill the table (rows and columns matched by key)',
    )
    .option('--out <dir>', 'also write table.csv, table.md and metrics.json there')
    .addOption(makeOption('json'))
    .action(async (file: string, o: { from: string[]; out?: string; json?: boolean }) => {
      const cfg = await readTableConfig(file);
      const task = taskNamed(cfg.task);
      const folders = await Promise.all(o.from.map(readResultsFolder));
      const records = collectRecords(folders);
      const { withheld, reasons } = withheldRows(cfg, folders);
      const footnotes = [
        ...cfg.footnotes,
        ...reasons,
        `Rendered from ${o.from.join(', ')} (see each run.json for methods, model and seeds).`,
      ];
      const table = buildResultsTable(tableSpecOf(cfg, task, footnotes, withheld), records, {
        statuses: statusesOf(cfg, []),
      });
      if (o.out) {
        await mkdir(o.out, { recursive: true });
        await writeTableFiles(o.out, table, records.length);
      }
      printTableResult({ dir: o.out ?? o.from.join(', '), resumed: false, table }, o.json);
    });
}
