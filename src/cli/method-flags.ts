import { Option, type Command } from 'commander';
import type { MethodEntry } from '../experiments/table-config.js';
import type { VisionConfig } from '../model/clip-config.js';
import { paramTableOf } from '../prompts/method.js';
import type { ParamSpec } from '../prompts/params.js';
import { allMethodParams, methodParts } from '../prompts/registry.js';
import { TASKS } from '../tasks/registry.js';
import type { AnyTask } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';
import { issueMessage, safeParseWith } from '../util/schema-check.js';
import { flagOf, flagProperty } from './options.js';

/** Whether the user typed the option (commander also fills defaults, which must not count as given). */
function given(cmd: Command, property: string): boolean {
  return cmd.getOptionValueSource(property) === 'cli';
}

/**
 * The method parameters given as flags, applied to every named method that reads them. A flag that
 * none of them reads is an input error (`--alpha` with `--method redcircle` would silently do nothing).
 * Each value is checked as its flag (`--alpha abc: expected a number`), and, given the model's geometry,
 * resolved on it (`--heads 9: heads are 1-4 for this model`), so a mistake names what the user typed.
 */
export function methodEntriesFromFlags(names: readonly string[], cmd: Command, vision?: VisionConfig): MethodEntry[] {
  const flags = cmd.opts() as Record<string, string>;
  const params = allMethodParams().filter(([name]) => given(cmd, flagProperty(name)));
  for (const [name, spec] of params)
    checkFlagValue(`${flagOf(name)} ${flags[flagProperty(name)]}`, spec, flags[flagProperty(name)]!, vision);
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

function checkFlagValue(flag: string, spec: ParamSpec, text: string, vision: VisionConfig | undefined): void {
  const parsed = safeParseWith(spec.schema, spec.fromFlag(text));
  if (!parsed.success) throw new UserError(`${flag}: ${issueMessage(parsed.error)}`);
  if (!vision) return;
  try {
    spec.resolve(parsed.data, vision);
  } catch (e) {
    // The selection itself is already in `flag`.
    if (e instanceof UserError) throw new UserError(`${flag}: ${e.message.replace(/^layer selection '[^']*': /, '')}`);
    throw e;
  }
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
