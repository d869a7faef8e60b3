import type { Command } from 'commander';
import { readTableConfig } from '../experiments/table-config.js';
import { CheckFailed } from '../util/errors.js';
import { addRunOptions, runTableWithFlags, samplingOf, type RunFlags } from './run-options.js';
import { printTableResult } from './table-output.js';

export function register(program: Command): void {
  addRunOptions(
    program
      .command('run <config>')
      .description(
        "evaluate a table config (configs/*.yaml, docs/configs.md): every row on every imported split, our number beside the paper's; re-running resumes",
      )
      .option(
        '--require-all',
        'exit 1 when a split of the table is not imported (for CI: a partial table is a failed check)',
      ),
  ).action(async (file: string, flags: RunFlags & { requireAll?: boolean }) => {
    const cfg = await readTableConfig(file);
    const result = await runTableWithFlags(cfg, flags, samplingOf(flags));
    printTableResult(result, flags.json);
    if (flags.requireAll && result.notImported.length > 0)
      throw new CheckFailed(
        `--require-all: ${result.notImported.length} split(s) of ${cfg.name} are not imported (${result.notImported.map((m) => m.split).join(', ')})`,
      );
  });
}
