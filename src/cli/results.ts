import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { collectCsv, collectLines } from '../experiments/collect.js';
import { findRunFolders, type RunSummary, summarizeRun } from '../experiments/run-index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { resultsRoot } from '../util/repo-paths.js';
import { makeOption } from './options.js';

/** "falip 23.7, redcircle 25.4": each row's first number, as a reminder of what the run found. */
function keyNumbers(s: RunSummary): string {
  if (!s.metrics) return 'no table yet';
  return s.metrics.rows
    .map((r) => {
      const first = s.metrics!.columns[0];
      const v = first ? r.cells[first.key]?.ours?.value : undefined;
      return `${r.row} ${v === undefined ? '–' : v.toFixed(1)}`;
    })
    .join(', ');
}

function summaryJson(s: RunSummary) {
  return {
    dir: s.dir,
    name: s.run.name,
    run_key: s.run.config_hash,
    command: s.run.provenance.command,
    task: s.run.key.task,
    model: s.run.details.model.name,
    precision: s.run.key.model.precision,
    splits: s.run.key.splits.map((c) => c.key),
    records: s.records,
    expected_records: s.run.details.expected_records,
    complete: s.complete,
    created_at: s.run.provenance.created_at,
    numbers: s.metrics?.rows.map((r) => ({ row: r.row, cells: r.cells })) ?? null,
  };
}

export function register(program: Command): void {
  program
    .command('results [dirs...]')
    .description(
      'list the results folders under DIRs (default: $FALIP_RESULTS, else ./results): command, model, data, complete or partial, date, key numbers',
    )
    .addOption(makeOption('json'))
    .action(async (dirs: string[], o: { json?: boolean }) => {
      // The default folder may not exist yet: nothing has run.
      const roots = dirs.length > 0 ? dirs : [resultsRoot()].filter((d) => existsSync(d));
      const runs = await Promise.all((await findRunFolders(roots)).map(summarizeRun));
      if (o.json) return console.log(JSON.stringify(runs.map(summaryJson), null, 2));
      if (runs.length === 0)
        return console.log(`no results folders under ${(dirs.length > 0 ? dirs : [resultsRoot()]).join(', ')}`);
      for (const s of runs) {
        const state = s.complete ? 'complete' : `partial (${s.records} of ${s.run.details.expected_records})`;
        console.log(
          `${s.dir.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), s.dir) : s.dir}  [${state}]  ${s.run.provenance.created_at.slice(0, 16).replace('T', ' ')}`,
        );
        console.log(`  ${s.run.provenance.command}`);
        console.log(
          `  ${s.run.key.task} on ${s.run.key.splits.map((c) => c.key).join(', ')}; model ${s.run.details.model.name} (${s.run.key.model.precision})`,
        );
        console.log(`  ${keyNumbers(s)}`);
      }
    });

  program
    .command('collect <dirs...>')
    .description(
      'one long CSV of every cell of every run under DIRs (run, model, precision, methods and each parameter, dataset, split, metric, value, n, interval): one line per cell, each with its run key',
    )
    .requiredOption('--out <file.csv>', 'the CSV to write')
    .action(async (dirs: string[], o: { out: string }) => {
      const runs = await Promise.all((await findRunFolders(dirs)).map(summarizeRun));
      if (runs.length === 0) throw new UserError(`${dirs.join(', ')}: no results folders (a folder with a run.json)`);
      const lines = collectLines(runs);
      await writeFileAtomic(path.resolve(o.out), await collectCsv(lines));
      console.log(`wrote ${lines.length} lines from ${runs.length} runs to ${o.out}`);
    });
}
