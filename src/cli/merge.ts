import type { Command } from 'commander';
import { mergeShards } from '../experiments/merge-shards.js';
import { makeOption } from './options.js';
import { printTableResult } from './table-output.js';

export function register(program: Command): void {
  program
    .command('merge <dirs...>')
    .description(
      "put the results folders of one run's shards (--shard K/N) together: checks they are the same run, every shard once, complete and disjoint; writes the table an unsharded run writes",
    )
    .requiredOption('--out <dir>', 'the merged results folder (empty or new)')
    .addOption(makeOption('json'))
    .action(async (dirs: string[], o: { out: string; json?: boolean }) => {
      const merged = await mergeShards(dirs, o.out);
      const { plots } = merged;
      printTableResult({ dir: merged.dir, resumed: false, table: merged.table }, o.json);
      if (!o.json) {
        process.stderr.write(`merged ${merged.shards} shards, ${merged.records} records\n`);
        for (const p of plots) console.log(`plot: ${p}`);
      }
    });
}
