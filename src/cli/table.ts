import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { tableFromRuns } from '../experiments/table-from-runs.js';
import { writeTableFiles } from '../experiments/table-files.js';
import { readTableConfig } from '../experiments/table-config.js';
import { METRICS_JSON, metricsJsonSchema } from '../report/run-files.js';
import { withFsErrors } from '../util/fs-errors.js';
import { checkOwnFolder, isFolderWrittenBy } from '../util/output-target.js';
import { makeOption } from './options.js';
import { printTableResult } from './table-output.js';

/** What `falip table --out` writes (metrics.json first). */
const TABLE_FILES = [METRICS_JSON, 'table.csv', 'table.md'];

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
      // Checked before any input is read: never a folder of the user's (nor a results folder, whose own table it would replace).
      const target = o.out;
      if (target)
        await checkOwnFolder(target, '--out', "a folder of falip table's files", (names) =>
          isFolderWrittenBy(target, names, (n) => TABLE_FILES.includes(n), METRICS_JSON, metricsJsonSchema),
        );
      const { table, records } = await tableFromRuns(await readTableConfig(file), o.from);
      if (o.out) {
        const out = o.out;
        await withFsErrors(async () => {
          await mkdir(out, { recursive: true });
          await writeTableFiles(out, table, records.length);
        });
      }
      printTableResult({ dir: o.out ?? o.from.join(', '), resumed: false, table }, o.json);
    });
}
