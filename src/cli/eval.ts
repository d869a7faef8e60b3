import { Command, Option } from 'commander';
import { ensureDemoSet } from '../datasets/demo-set.js';
import { requireDataset } from '../datasets/dataset-store.js';
import { METHOD_NAMES } from '../prompts/method.js';
import { datasetFootnotes, splitsFor } from '../tasks/default-splits.js';
import { paperNumbersFor, TABLE1_CONFIG } from '../tasks/paper-lookup.js';
import type { MethodEntry, TableConfig } from '../tasks/table-config.js';
import { parseTableConfig, readTableConfig } from '../tasks/table-config.js';
import { UserError } from '../util/errors.js';
import { makeOption } from './options.js';
import { parseNumber } from './parse.js';
import { addRunOptions, runTableWithFlags, type RunFlags } from './run-options.js';
import { printTableResult } from './table-output.js';

interface EvalFlags extends RunFlags {
  split?: string[];
  setting: 'gold' | 'prop';
  method?: string[];
  ensemble?: string;
  subtract?: boolean;
  negativesFrom: 'split' | 'other-images';
  negatives: string;
  alpha?: string;
  sigma?: string;
  layers?: string;
  form?: string;
  heads?: string;
  circleThickness?: string;
  blurSigma?: string;
}

/** Method parameters given on the command line, applied to every method that reads them. */
function methodEntry(name: string, f: EvalFlags): MethodEntry {
  const params = {
    ...(f.alpha !== undefined && { alpha: parseNumber('--alpha', f.alpha) }),
    ...(f.sigma !== undefined && { sigma: parseNumber('--sigma', f.sigma, (n) => n > 0, 'a positive number') }),
    ...(f.layers !== undefined && { layers: f.layers }),
    ...(f.form !== undefined && { form: f.form as 'a' | 'b' | 'c' }),
    ...(f.heads !== undefined && { heads: f.heads }),
    ...(f.circleThickness !== undefined && { circle_thickness: parseNumber('--circle-thickness', f.circleThickness, (n) => Number.isInteger(n) && n > 0, 'a positive integer') }),
    ...(f.blurSigma !== undefined && { blur_sigma: parseNumber('--blur-sigma', f.blurSigma, (n) => n > 0, 'a positive number') }),
  };
  return Object.keys(params).length === 0 ? name : { name, ...params };
}

function checkMethodName(name: string): string {
  if (!(METHOD_NAMES as readonly string[]).includes(name)) throw new UserError(`--method ${name}: unknown method (one of ${METHOD_NAMES.join(', ')})`);
  return name;
}

/** `falip eval` as a one-off table config: one row per method (and one for the ensemble), one column per split. */
async function evalConfig(dataset: string, f: EvalFlags): Promise<TableConfig> {
  const splits = splitsFor(dataset, f.split);
  const methods = (f.method ?? (dataset === 'demo' ? ['falip', 'redcircle'] : ['falip'])).map(checkMethodName);
  const groups = methods.map((m) => [m]);
  if (f.ensemble) groups.push(f.ensemble.split(',').map((s) => checkMethodName(s.trim())));
  const suffix = `${f.setting}${f.subtract ? '-p' : ''}`;
  const subtract = f.subtract
    ? { count: parseNumber('--negatives', f.negatives, (n) => Number.isInteger(n) && n > 0, 'a positive integer'), from: f.negativesFrom, seed: 0 }
    : false;
  const custom = methods.some((m) => typeof methodEntry(m, f) !== 'string');
  const table1 = await readTableConfig(TABLE1_CONFIG);
  const rows = groups.map((g) => ({
    key: `${g.join('.')}-${suffix}`,
    label: `${g.length > 1 ? 'E: ' : ''}${g.join(' + ')} ${f.setting}${f.subtract ? ' (P)' : ''}`,
    setting: f.setting,
    methods: g.map((m) => methodEntry(m, f)),
    subtract,
    paper: (!custom && paperNumbersFor(table1, g, f.setting, Boolean(f.subtract))) || {},
  }));
  return parseTableConfig(
    {
      name: `eval-${dataset}`,
      title: `REC on ${dataset} (${f.setting} boxes${f.subtract ? ', subtract' : ''})`,
      task: 'rec',
      columns: splits.map((s) => `${dataset}/${s}`),
      rows,
      average: splits.length > 1,
      footnotes: datasetFootnotes(dataset),
    },
    'falip eval',
  );
}

export function register(program: Command): void {
  const cmd = program
    .command('eval <dataset>')
    .description("evaluate REC on a dataset's splits (refcoco, refcoco+, refcocog, demo) and print the rows beside the paper's numbers")
    .addOption(makeOption('split'))
    .addOption(makeOption('setting'))
    .option('--method <name...>', `methods, one row each (${METHOD_NAMES.join(', ')}); default falip (demo: falip redcircle)`)
    .option('--ensemble <m1,m2,...>', 'add a row summing these methods\' logits (ReCLIP-style ensemble)')
    .option('--subtract', 'subtract the mean logit of negative captions (the paper\'s "P")')
    .addOption(new Option('--negatives-from <source>', 'where negatives come from: any caption of the split (FGVP\'s code) or other images only (the paper\'s text)').choices(['split', 'other-images']).default('split'))
    .option('--negatives <n>', 'negative captions per sentence', '500')
    .addOption(makeOption('alpha').default(undefined))
    .addOption(makeOption('sigma').default(undefined))
    .addOption(makeOption('layers'))
    .addOption(makeOption('form').default(undefined))
    .addOption(makeOption('heads'))
    .option('--circle-thickness <px>', 'red ellipse width (default: max(1, ⌊max(W,H)/200⌋) as the reference)')
    .option('--blur-sigma <s>', 'Gaussian σ of the blur prompts (default 100, as ReCLIP)');
  addRunOptions(cmd).action(async (dataset: string, f: EvalFlags) => {
    if (dataset === 'demo') await ensureDemoSet();
    await requireSomeSplit(dataset, splitsFor(dataset, f.split));
    printTableResult(await runTableWithFlags(await evalConfig(dataset, f), f), f.json);
  });
}

/**
 * Evaluating nothing is an input error that names the import command; when only some splits are
 * imported, the others stay in the table as "not imported" and stderr says so.
 */
async function requireSomeSplit(dataset: string, splits: readonly string[]): Promise<void> {
  const checks = await Promise.allSettled(splits.map((s) => requireDataset(dataset, s)));
  const missing = checks.flatMap((c) => (c.status === 'rejected' ? [c.reason as Error] : []));
  if (missing.length === splits.length) throw missing[0]!;
  for (const e of missing) process.stderr.write(`falip: ${e.message}\n`);
}
