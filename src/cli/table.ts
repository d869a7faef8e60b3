import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { tableFromRuns } from '../experiments/table-from-runs.js';
import { writeTableFiles } from '../experiments/table-files.js';
import { readTableConfig } from '../experiments/table-config.js';
import { makeOption } from './options.js';
import { printTableResult } from './table-output.js';

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
      const { table, records } = await tableFromRuns(await readTableConfig(file), o.from);
      if (o.out) {
        await mkdir(o.out, { recursive: true });
        await writeTableFiles(o.out, table, records.length);
      }
      printTableResult({ dir: o.out ?? o.from.join(', '), resumed: false, table }, o.json);
    });
}
