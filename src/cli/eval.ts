import type { Command } from 'commander';
import { type ModelSummary, openEncoder } from '../encoder/open-encoder.js';
import { datasetTask, requireSomeSplit, type DatasetTask } from '../experiments/dataset-task.js';
import { paperNumbersFor, paperRowsFor } from '../experiments/paper-lookup.js';
import { rowsPerPromptSet } from '../experiments/row-prompts.js';
import { rowKeyOf, taskRowsOf } from '../experiments/run-table.js';
import { parseTableConfig, type TableConfig } from '../experiments/table-config.js';
import { TASKS } from '../tasks/registry.js';
import { CLASS_SUBSETS, type ClassSubset } from '../tasks/shared/class-subsets.js';
import { UserError } from '../util/errors.js';
import { checkTaskFlags, methodEntriesFromFlags } from './method-flags.js';
import { addMethodParamOptions, addTaskOptions, encoderOptionsOf, makeOption, modelsFor } from './options.js';
import { listValues } from './parse.js';
import { addRunOptions, runOpened, samplingOf, type RunFlags } from './run-options.js';
import { type EvalRun, printSummary, printTableResult } from './table-output.js';

interface EvalFlags extends RunFlags {
  split?: string[];
  classes?: string[];
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
 * What a default results folder is called: the dataset and the methods, e.g. `eval-refcoco-falip+redcircle`
 * (an ensemble's methods joined by '.'), cut to a length a file browser shows.
 */
function runName(dataset: string, groups: readonly string[][]): string {
  const name = `eval-${dataset}-${groups.map((g) => g.join('.')).join('+')}`;
  return name.length <= 80 ? name : `${name.slice(0, 79)}~`;
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
  model: ModelSummary,
): Promise<TableConfig> {
  const { vision } = model;
  const { task } = d;
  const splits = splitsOf(d, f.split);
  const methods = listValues(f.method) ?? [...(d.dataset.defaultMethods ?? task.defaultMethods)];
  const groups = methods.map((m) => [m]);
  const ensemble = listValues(f.ensemble);
  if (ensemble && new Set(ensemble).size < 2)
    throw new UserError(
      `--ensemble ${f.ensemble}: an ensemble sums the scores of two or more methods (e.g. --ensemble falip,blur+falip); one method is a row of --method`,
    );
  if (ensemble) groups.push(ensemble);
  const entries = new Map(methodEntriesFromFlags([...new Set(groups.flat())], cmd, vision).map((e) => [e.name, e]));
  const options = task.rowOptionsFromFlags(f);
  const classes = classesOf(f.classes, task);
  const metrics = d.dataset.evalMetrics ?? task.evalMetrics;
  const draft = {
    name: runName(name, groups),
    title: `${task.title} on ${name}`,
    task: task.name,
    columns: splits.flatMap((s) => [
      ...classes.flatMap((half) =>
        metrics.map((metric) => ({
          data: `${name}/${s}`,
          metric,
          ...(half !== 'all' && { classes: half }),
          label: `${name} ${s}${half === 'all' ? '' : ` ${half}`}${metric === task.defaultMetric && task.evalMetrics.length === 1 ? '' : ` ${task.metrics[metric]!.label}`}`,
        })),
      ),
      // Base and new together: their harmonic mean, of the default metric as the papers report it.
      ...(classes.includes('base') && classes.includes('new')
        ? [
            {
              key: `${name}/${s}:H`,
              label: `${name} ${s} H`,
              harmonic_mean: ['base', 'new'].map((h) => `${name}/${s}/${h}:${task.defaultMetric}`),
            },
          ]
        : []),
    ]),
    rows: groups.map((g) => ({
      key: g.join('.'),
      label: `${g.length > 1 ? 'E: ' : ''}${g.join(' + ')}`,
      methods: g.map((m) => ({ name: m, ...entries.get(m)!.params })),
      ...options,
    })),
    // An average over the splits of one kind of column only: mixing halves and H would mean nothing.
    average: splits.length > 1 && classes.length === 1,
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
      paper: r.prompts ? {} : (paperNumbersFor(paperRows, rowKeyOf(built[i]!), model) ?? {}),
    })),
  };
}

/** `--classes`: which halves of the classes get columns (default all), each once, in the order given. */
function classesOf(given: readonly string[] | undefined, task: DatasetTask['task']): ClassSubset[] {
  const values = listValues(given);
  if (!values) return ['all'];
  if (!task.classSubsets)
    throw new UserError(`--classes: ${task.name} datasets have no class subsets (classification datasets do)`);
  for (const v of values)
    if (!(CLASS_SUBSETS as readonly string[]).includes(v))
      throw new UserError(`--classes ${v}: expected ${CLASS_SUBSETS.join(', ')}`);
  return [...new Set(values)] as ClassSubset[];
}

export function register(program: Command): void {
  const cmd = program
    .command('eval <datasets...>')
    .description(
      `evaluate methods on datasets' splits (${TASKS.map((t) => `${t.title}: ${Object.keys(t.datasets).join(', ')}`).join('; ')}) beside the paper's numbers; several datasets and --model a,b give one results folder per model and dataset, and one summary`,
    )
    .addOption(makeOption('split'))
    .addOption(makeOption('classes'))
    .addOption(makeOption('method'))
    .option('--ensemble <m1,m2,...>', "add a row summing these methods' scores (ReCLIP-style ensemble)")
    .addOption(makeOption('prompts'))
    .addOption(makeOption('promptMask'));
  addTaskOptions(cmd);
  addMethodParamOptions(cmd);
  addRunOptions(cmd).action(async (names: string[], f: EvalFlags, command: Command) => {
    const datasets = [...new Set(names)];
    const models = modelsFor(f.model, datasets);
    const runs = models.length * datasets.length;
    if (runs > 1 && f.out !== undefined)
      throw new UserError(
        `--out ${f.out}: names one results folder, and ${models.length} model(s) × ${datasets.length} dataset(s) make ${runs} runs; leave it out (each run gets its own folder under results/)`,
      );
    const sampling = samplingOf(f);
    // Every dataset is checked before any model is opened or any run starts.
    const found: [string, DatasetTask][] = [];
    for (const name of datasets) {
      const d = await datasetTask(name);
      checkTaskFlags(d.task, command, name);
      await d.dataset.generate?.ensure();
      await requireSomeSplit(name, d, splitsOf(d, f.split));
      found.push([name, d]);
    }
    const results: EvalRun[] = [];
    for (const model of models) {
      const opened = await openEncoder(encoderOptionsOf(f, model));
      for (const [name, d] of found) {
        const cfg = await evalConfig(name, d, f, command, opened.model);
        const result = await runOpened(cfg, opened, f, sampling);
        if (runs === 1) return printTableResult(result, f.json);
        if (!f.json) printTableResult(result, false);
        results.push({ model: opened.model.name, dataset: name, result });
      }
    }
    printSummary(results, f.json);
  });
}
