import { Option, type Command } from 'commander';
import type { MethodEntry } from '../experiments/table-config.js';
import { paramTableOf } from '../prompts/method.js';
import { allMethodParams, methodParts } from '../prompts/registry.js';
import { TASKS } from '../tasks/registry.js';
import type { AnyTask } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';
import { flagOf, flagProperty } from './options.js';

/** Whether the user typed the option (commander also fills defaults, which must not count as given). */
function given(cmd: Command, property: string): boolean {
  return cmd.getOptionValueSource(property) === 'cli';
}

/**
 * The method parameters given as flags, applied to every named method that reads them. A flag that
 * none of them reads is an input error (`--alpha` with `--method redcircle` would silently do nothing).
 */
export function methodEntriesFromFlags(names: readonly string[], cmd: Command): MethodEntry[] {
  const flags = cmd.opts() as Record<string, string>;
  const params = allMethodParams().filter(([name]) => given(cmd, flagProperty(name)));
  const tables = names.map((n) => paramTableOf(methodParts(n) ?? []));
  for (const [name] of params) {
    if (!tables.some((t) => name in t))
      throw new UserError(
        `${flagOf(name)}: not read by ${names.length === 1 ? `method ${names[0]}` : `any of the methods ${names.join(', ')}`}`,
      );
  }
  return names.map((n, i) => ({
    name: n,
    params: Object.fromEntries(
      params
        .filter(([name]) => name in tables[i]!)
        .map(([name, spec]) => [name, spec.fromFlag(flags[flagProperty(name)]!)]),
    ),
  }));
}

/** A flag of another task than the dataset's is refused rather than ignored. */
export function checkTaskFlags(task: AnyTask, cmd: Command, dataset: string): void {
  for (const other of TASKS) {
    if (other === task) continue;
    for (const f of other.flags) {
      const option = new Option(f.flags);
      if (given(cmd, option.attributeName()))
        throw new UserError(`${option.long}: applies to ${other.name} datasets; ${dataset} is ${task.name}`);
    }
  }
}
