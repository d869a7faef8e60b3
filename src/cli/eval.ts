import type { Command } from 'commander';
import { openEncoder } from '../encoder/open-encoder.js';
import { datasetTask, requireSomeSplit, type DatasetTask } from '../experiments/dataset-task.js';
import { paperNumbersFor, paperRowsFor } from '../experiments/paper-lookup.js';
import { rowsPerPromptSet } from '../experiments/row-prompts.js';
import { rowKeyOf, taskRowsOf } from '../experiments/run-table.js';
import { parseTableConfig, type TableConfig } from '../experiments/table-config.js';
import type { VisionConfig } from '../model/clip-config.js';
import { TASKS } from '../tasks/registry.js';
import { checkTaskFlags, methodEntriesFromFlags } from './method-flags.js';
import { addMethodParamOptions, addTaskOptions, encoderOptionsOf, makeOption } from './options.js';
import { listValues } from './parse.js';
import { addRunOptions, runOpened, samplingOf, type RunFlags } from './run-options.js';
import { printTableResult } from './table-output.js';

interface EvalFlags extends RunFlags {
  split?: string[];
  method?: string[];
  ensemble?: string;
  prompts?: string[];
  promptMask?: string;
  [taskFlag: string]: unknown;
}

/** The splits given (each once, in the order given), else the paper's. */
export function splitsOf(d: DatasetTask, given: readonly string[] | undefined): string[] {
  return [...new Set(listValues(given) ?? d.dataset.splits)];
}

/**
 * `falip eval` as a one-off table config: one row per method (and one for the ensemble), one column per
 * split and metric, the paper's number beside ours where the paper ran the same experiment.
 */
async function evalConfig(
  name: string,
  d: DatasetTask,
  f: EvalFlags,
  cmd: Command,
  vision: VisionConfig,
): Promise<TableConfig> {
  const { task } = d;
  const splits = splitsOf(d, f.split);
  const methods = listValues(f.method) ?? [...(d.dataset.defaultMethods ?? task.defaultMethods)];
  const groups = methods.map((m) => [m]);
  const ensemble = listValues(f.ensemble);
  if (ensemble) groups.push(ensemble);
  const entries = new Map(methodEntriesFromFlags([...new Set(groups.flat())], cmd).map((e) => [e.name, e]));
  const options = task.rowOptionsFromFlags(f);
  const draft = {
    name: `eval-${name}`,
    title: `${task.title} on ${name}`,
    task: task.name,
    columns: splits.flatMap((s) =>
      (d.dataset.evalMetrics ?? task.evalMetrics).map((metric) => ({
        data: `${name}/${s}`,
        metric,
        label: `${name} ${s}${metric === task.defaultMetric && task.evalMetrics.length === 1 ? '' : ` ${task.metrics[metric]!.label}`}`,
      })),
    ),
    rows: groups.map((g) => ({
      key: g.join('.'),
      label: `${g.length > 1 ? 'E: ' : ''}${g.join(' + ')}`,
      methods: g.map((m) => ({ name: m, ...entries.get(m)!.params })),
      ...options,
    })),
    average: splits.length > 1,
  };
  const parsed = parseTableConfig(draft, () => 'falip eval');
  // Keys and labels name the task's options too ("falip-gold-p", "falip gold (P)").
  const rows = rowsPerPromptSet(
    parsed.rows.map((r) => {
      const o = task.describeOptions(r.options);
      return { ...r, key: o.key ? `${r.key}-${o.key}` : r.key, label: `${r.label} ${o.label}`.trim() };
    }),
    task,
    listValues(f.prompts) ?? [],
    f.promptMask,
  );
  const paperRows = await paperRowsFor(task, vision);
  const built = taskRowsOf({ ...parsed, rows }, vision);
  return {
    ...parsed,
    title: rows[0] ? `${parsed.title} (${task.describeOptions(rows[0].options).title})` : parsed.title,
    // The paper ran no prompt-tuned CLIP.
    rows: rows.map((r, i) => ({
      ...r,
      paper: r.prompts ? {} : (paperNumbersFor(paperRows, rowKeyOf(built[i]!), vision) ?? {}),
    })),
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('eval <dataset>')
    .description(
      `evaluate methods on a dataset's splits (${TASKS.map((t) => `${t.title}: ${Object.keys(t.datasets).join(', ')}`).join('; ')}) beside the paper's numbers`,
    )
    .addOption(makeOption('split'))
    .addOption(makeOption('method'))
    .option('--ensemble <m1,m2,...>', "add a row summing these methods' scores (ReCLIP-style ensemble)")
    .addOption(makeOption('prompts'))
    .addOption(makeOption('promptMask'));
  addTaskOptions(cmd);
  addMethodParamOptions(cmd);
  addRunOptions(cmd).action(async (name: string, f: EvalFlags, command: Command) => {
    const d = await datasetTask(name);
    checkTaskFlags(d.task, command, name);
    const sampling = samplingOf(f);
    await d.dataset.generate?.ensure();
    await requireSomeSplit(name, d, splitsOf(d, f.split));
    const opened = await openEncoder(encoderOptionsOf(f));
    const cfg = await evalConfig(name, d, f, command, opened.model.vision);
    printTableResult(await runOpened(cfg, opened, f, sampling), f.json);
  });
}
