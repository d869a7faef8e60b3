import type { Command } from 'commander';
import { datasetTask, requireSomeSplit } from '../experiments/dataset-task.js';
import { paperNumbersAt, readPaperSweeps } from '../experiments/paper-curves.js';
import { completeAxes, sweepConfig, type SweepAxes } from '../experiments/sweep-grid.js';
import type { SweepDetails } from '../experiments/run-json.js';
import { writeSweepResults, type SweepRowResult } from '../experiments/sweep-plots.js';
import { MASK_FORMS, type MaskForm } from '../prompts/falip-mask.js';
import { CheckFailed, UserError } from '../util/errors.js';
import { splitsOf } from './eval.js';
import { checkTaskFlags } from './method-flags.js';
import { parseNumber, parseNumberList } from './parse.js';
import { addTaskOptions, makeOption } from './options.js';
import { addRunOptions, runTableWithFlags, samplingOf, type RunFlags } from './run-options.js';
import { printTableResult } from './table-output.js';

interface SweepFlags extends RunFlags {
  split?: string[];
  alpha?: string;
  sigma?: string;
  layers?: string[];
  form?: string;
  failBelow?: string;
}

/** The setting with the highest headline accuracy (the first in grid order on ties). */
export interface BestSetting {
  row: string;
  label: string;
  accuracy: number;
}

function parseForms(text: string): MaskForm[] {
  return text.split(',').map((s) => {
    const form = s.trim();
    if (!(MASK_FORMS as readonly string[]).includes(form))
      throw new UserError(`--form ${text}: expected a comma-separated list of ${MASK_FORMS.join(', ')}`);
    return form as MaskForm;
  });
}

function axesFromFlags(f: SweepFlags): SweepAxes {
  return completeAxes({
    ...(f.alpha !== undefined && { alpha: parseNumberList('--alpha', f.alpha) }),
    ...(f.sigma !== undefined && { sigma: parseNumberList('--sigma', f.sigma, (n) => n > 0, 'positive numbers') }),
    ...(f.layers !== undefined && { layers: f.layers }),
    ...(f.form !== undefined && { form: parseForms(f.form) }),
  });
}

export function bestSetting(rows: readonly SweepRowResult[]): BestSetting | null {
  let best: BestSetting | null = null;
  for (const r of rows) {
    if (r.accuracy !== null && (best === null || r.accuracy > best.accuracy))
      best = { row: r.key, label: r.label, accuracy: r.accuracy };
  }
  return best;
}

/** `--fail-below`: a sweep whose best setting stays under `minAccuracy` percent fails the check. */
export function checkFailBelow(best: BestSetting | null, minAccuracy: number): void {
  if (best === null)
    throw new CheckFailed(`--fail-below ${minAccuracy}: no setting has an accuracy (are the splits imported?)`);
  if (best.accuracy < minAccuracy) {
    throw new CheckFailed(
      `best setting ${best.row} (${best.label}) reaches ${best.accuracy.toFixed(1)}%, below --fail-below ${minAccuracy}`,
    );
  }
}

function plotSubject(dataset: string, splits: readonly string[]): string {
  return splits.length === 1 ? `${dataset}/${splits[0]}` : `${dataset} (mean of ${splits.length} splits)`;
}

/** Repeatable flag: a layer spec holds commas itself, so the list is given one spec per flag. */
function collectLayers(spec: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), spec];
}

export function register(program: Command): void {
  const cmd = program
    .command('sweep <dataset>')
    .description(
      "evaluate FALIP over a grid of α × σ × layers × form in one run, plot accuracy against α and σ beside the paper's curves",
    )
    .addOption(makeOption('split'))
    .option('--alpha <list>', 'mask peak values α, comma-separated, e.g. 0.05,0.1,0.2 (default 0.2)')
    .option('--sigma <list>', 'Gaussian σ values in tokens, comma-separated, e.g. 1,100,300 (default 100)')
    .option(
      '--layers <spec>',
      '1-based layers that get the mask, one selection per flag: --layers 9-12 --layers 1,3,5-7 (default: the last 4)',
      collectLayers,
    )
    .option('--form <list>', 'mask forms, comma-separated from a, b, c (default a)')
    .option('--fail-below <acc>', "exit 1 when the best setting's accuracy (%, mean over the splits) is below this");
  addTaskOptions(cmd);
  addRunOptions(cmd).action(async (dataset: string, f: SweepFlags, command: Command) => {
    const failBelow = f.failBelow === undefined ? undefined : parseNumber('--fail-below', f.failBelow);
    const d = await datasetTask(dataset);
    checkTaskFlags(d.task, command, dataset);
    const sampling = samplingOf(f);
    const axes = axesFromFlags(f);
    // The paper's sweeps (Tables 10, 11) are REC's: other tasks have no numbers to put beside theirs.
    // The paper's α/σ curves average its own REC splits: they belong beside a sweep on one of those datasets.
    const paperCurves = d.task.paperSweepCurves === true && d.dataset.paperSamples !== undefined;
    const paper = paperCurves ? await readPaperSweeps() : undefined;
    await d.dataset.generate?.ensure();
    // The headline is the mean over the splits: only imported ones count (a missing one is named on stderr).
    const splits = await requireSomeSplit(
      dataset,
      d,
      splitsOf(d, f.split),
      (imported) => `the sweep runs on ${imported.join(', ')}`,
    );
    const cfg = sweepConfig(
      {
        dataset,
        splits,
        task: d.task,
        options: d.task.rowOptionsFromFlags(f as unknown as Record<string, unknown>),
        axes,
      },
      paper && paperNumbersAt(paper),
    );
    const sweep: SweepDetails = { axes, subject: plotSubject(dataset, splits), paperCurves };
    const result = await runTableWithFlags(cfg, f, sampling, sweep);
    const { rows, plots } = await writeSweepResults(result.dir, result.table, sweep);
    const best = bestSetting(rows);
    if (f.json) {
      console.log(
        JSON.stringify(
          { dir: result.dir, best: best && { row: best.row, accuracy: best.accuracy }, rows, plots },
          null,
          2,
        ),
      );
    } else {
      printTableResult(result, false);
      for (const p of plots) console.log(`plot: ${p}`);
      console.log(
        best
          ? `best: ${best.label} (${best.row}): ${best.accuracy.toFixed(1)}%`
          : 'best: none (no setting was evaluated)',
      );
    }
    if (failBelow !== undefined) checkFailBelow(best, failBelow);
  });
}
