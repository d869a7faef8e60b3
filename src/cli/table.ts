import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { buildResultsTable } from '../report/results-table.js';
import { RecordLog, type EvalRecord } from '../report/records.js';
import { statusesOf, tableSpecOf, writeTableFiles } from '../tasks/run-table.js';
import { readTableConfig } from '../tasks/table-config.js';
import { UserError } from '../util/errors.js';
import { makeOption } from './options.js';
import { printTableResult } from './table-output.js';

/** Records of several run folders; a (row, column, id) seen twice keeps the first folder's record. */
async function collectRecords(dirs: readonly string[]): Promise<EvalRecord[]> {
  const seen = new Set<string>();
  const out: EvalRecord[] = [];
  for (const dir of dirs) {
    const file = path.join(dir, 'records.jsonl');
    if (!existsSync(file)) throw new UserError(`${file}: not found (is ${dir} a falip results folder?)`);
    for (const r of (await RecordLog.open(file)).all()) {
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
    .requiredOption('--from <dirs...>', 'results folders whose records.jsonl fill the table (rows and columns matched by key)')
    .option('--out <dir>', 'also write table.csv, table.md and metrics.json there')
    .addOption(makeOption('json'))
    .action(async (file: string, o: { from: string[]; out?: string; json?: boolean }) => {
      const cfg = await readTableConfig(file);
      const records = await collectRecords(o.from);
      const footnotes = [...cfg.footnotes, `Rendered from ${o.from.join(', ')} (see each run.json for methods, model and seeds).`];
      const table = buildResultsTable(tableSpecOf(cfg, footnotes), records, { statuses: statusesOf(cfg, []) });
      if (o.out) {
        await mkdir(o.out, { recursive: true });
        await writeTableFiles(o.out, table, records);
      }
      printTableResult({ dir: o.out ?? o.from.join(', '), resumed: false, table }, o.json);
    });
}
