import type { Command } from 'commander';
import { METHOD_DEFINITIONS } from '../prompts/registry.js';
import type { ParamSpec } from '../prompts/params.js';
import { flagOf, makeOption } from './options.js';

export function register(program: Command): void {
  program
    .command('methods')
    .description('list the visual prompts (methods) and their parameters; compose them with +, e.g. redcircle+falip')
    .addOption(makeOption('json'))
    .action((o: { json?: boolean }) => {
      const list = METHOD_DEFINITIONS.map((d) => ({
        name: d.name,
        summary: d.summary,
        params: Object.entries(d.params).map(([name, spec]: [string, ParamSpec]) => ({
          name,
          flag: flagOf(name),
          help: spec.help,
        })),
        ...(d.needs && { needs: d.needs }),
      }));
      if (o.json) return console.log(JSON.stringify(list, null, 2));
      for (const m of list) {
        console.log(
          `${m.name}\n  ${m.summary}${m.needs ? ` (compose with a prompt that sets the ${m.needs.join(', ')})` : ''}`,
        );
        for (const p of m.params) console.log(`    ${p.flag.padEnd(20)} ${p.help}`);
      }
    });
}
