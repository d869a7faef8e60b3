import type { Command } from 'commander';
import { readTableConfig } from '../experiments/table-config.js';
import { addRunOptions, runTableWithFlags, samplingOf, type RunFlags } from './run-options.js';
import { printTableResult } from './table-output.js';

export function register(program: Command): void {
  addRunOptions(
    program
      .command('run <config>')
      .description(
        "evaluate a table config (configs/*.yaml): every row on every imported split, our number beside the paper's; re-running resumes",
      ),
  ).action(async (file: string, flags: RunFlags) => {
    const cfg = await readTableConfig(file);
    printTableResult(await runTableWithFlags(cfg, flags, samplingOf(flags)), flags.json);
  });
}
