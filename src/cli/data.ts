import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type Command, Option } from 'commander';
import type { CheckReport } from '../datasets/check-report.js';
import { readDatasetInfo } from '../datasets/dataset-info.js';
import { datasetsRoot, listDatasets, requireDataset } from '../datasets/dataset-store.js';
import { allImporters, TASKS, taskNamed } from '../tasks/registry.js';
import type { DatasetCounts } from '../datasets/dataset-info.js';
import { CheckFailed, UserError } from '../util/errors.js';
import { withWorkProgress } from '../util/work-progress.js';
import { registerViews } from './data-views.js';
import { startProgress } from './progress.js';
import { makeOption } from './options.js';
import { parseInteger, parsePositiveInt } from './parse.js';

/** Long problem lists are cut in text mode, where a screenful is what a person reads. */
const SHOWN_PROBLEMS = 20;

export function register(program: Command): void {
  const data = program
    .command('data')
    .description('datasets: import them as released, check them, list them, generate the demo sets');

  const importer = data
    .command('import')
    .description('import a dataset as released into <datasets>/<name>/<split>/ (one subcommand per source format)');
  for (const imp of allImporters()) {
    const cmd = importer.command(imp.name).description(imp.summary);
    for (const o of imp.options) {
      const option = new Option(o.flags, o.help);
      if (o.defaultValue !== undefined) option.default(o.defaultValue);
      if (o.choices) option.choices(o.choices);
      if (o.required) option.makeOptionMandatory();
      cmd.addOption(option);
    }
    cmd
      .option('--out-root <dir>', 'datasets folder to write into (default: $FALIP_DATASETS, else <repo>/datasets)')
      .action(async (opts: Record<string, string | undefined>) => {
        const report = await withWorkProgress(startProgress, () => imp.run(opts, opts.outRoot));
        console.log(`imported ${report.info.name}/${report.info.split} into ${report.dir}`);
        console.log(`  ${formatCounts(report.info.counts)}`);
        for (const note of report.notes) console.log(`  ${note}`);
        printProblems('warnings', report.warnings);
      });
  }

  data
    .command('check')
    .description(
      'check a dataset against its files: images decode, sizes match, boxes lie inside, labels and targets are valid (exit 1 on errors)',
    )
    .argument(
      '<dataset>',
      'a dataset folder, <name>/<split> of an imported dataset (e.g. refcoco/testA), or <name> when one split is imported',
    )
    .addOption(makeOption('json'))
    .action(async (target: string, opts: { json?: boolean }) => {
      const dir = await datasetFolder(target);
      const info = await readDatasetInfo(dir);
      const report = await withWorkProgress(startProgress, () => taskNamed(info.task, dir).check(dir));
      if (opts.json) console.log(JSON.stringify({ dir, ...report }, null, 2));
      else printReport(dir, report);
      if (!report.ok) throw new CheckFailed(`data check: ${report.errors.length} error(s) in ${dir}`);
    });

  data
    .command('list')
    .description(`list the imported datasets under the datasets folder ($FALIP_DATASETS, else <repo>/datasets)`)
    .addOption(makeOption('json'))
    .action(async (opts: { json?: boolean }) => {
      const root = datasetsRoot();
      const found = await listDatasets(root);
      if (opts.json) {
        console.log(
          JSON.stringify(
            found.map(({ dir, info }) => ({ dir, ...info })),
            null,
            2,
          ),
        );
      } else if (found.length === 0) {
        console.log(`no datasets under ${root}: run \`falip data import ...\` or \`falip data demo\``);
      } else {
        for (const { dir, info } of found)
          console.log(`${`${info.name}/${info.split}`.padEnd(18)} ${formatCounts(info.counts)}  ${dir}`);
      }
    });

  // The generated sets: one subcommand each, named as the dataset (`falip data demo`, `falip data demo-cls`).
  for (const task of TASKS) {
    for (const [name, dataset] of Object.entries(task.datasets)) {
      const generator = dataset.generate;
      if (!generator) continue;
      data
        .command(name)
        .description(generator.summary)
        .option('--images <n>', 'number of images to generate', String(generator.defaultImages))
        .option('--seed <s>', 'random seed; the same seed gives byte-identical files', '0')
        .option('--out-root <dir>', 'datasets folder to write into (default: $FALIP_DATASETS, else <repo>/datasets)')
        .action(async (opts: { images: string; seed: string; outRoot?: string }) => {
          const images = parsePositiveInt('--images', opts.images);
          const seed = parseInteger('--seed', opts.seed);
          const { dir, info } = await generator.write(opts.outRoot, { images, seed });
          console.log(`wrote ${info.name}/${info.split} into ${dir}`);
          console.log(`  ${formatCounts(info.counts)}`);
        });
    }
  }

  registerViews(data);
}

/**
 * A path to an existing folder wins; otherwise `<name>/<split>` names an imported dataset, and a bare
 * `<name>` its only imported split (as `falip eval <name>` takes it).
 */
async function datasetFolder(target: string): Promise<string> {
  if ((await stat(target).catch(() => undefined))?.isDirectory()) return target;
  const parts = target.split('/');
  if (parts.length === 2) return (await requireDataset(parts[0]!, parts[1]!)).dir;
  if (parts.length !== 1) throw new UserError(`${target}: neither a dataset folder nor <name>/<split>`);
  const splits = (await listDatasets()).filter((d) => basename(dirname(d.dir)) === target);
  if (splits.length === 1) return splits[0]!.dir;
  if (splits.length === 0)
    throw new UserError(`${target}: neither a dataset folder nor an imported dataset (falip data list)`);
  throw new UserError(
    `${target}: ${splits.length} splits are imported (${splits.map((d) => `${target}/${basename(d.dir)}`).join(', ')}): name one`,
  );
}

/** `{ refs: 57, gold_boxes: 96 }` → "57 refs, 96 gold boxes". */
function formatCounts(c: DatasetCounts): string {
  return Object.entries(c)
    .map(([what, n]) => `${n} ${what.replaceAll('_', ' ')}`)
    .join(', ');
}

/** A count, or per-item statistics such as `{ mean, min, max }`, as one readable phrase. */
function countText(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v)}`)
      .join(', ');
  }
  return String(value);
}

function printReport(dir: string, report: CheckReport): void {
  console.log(`${dir}:`);
  for (const [what, value] of Object.entries(report.counts))
    console.log(`  ${what.replaceAll('_', ' ')}: ${countText(value)}`);
  printProblems('errors', report.errors, ' (--json lists all)');
  printProblems('warnings', report.warnings, ' (--json lists all)');
  console.log(report.ok ? 'ok' : 'FAILED');
}

/** `rest` says where the cut items can be seen. */
function printProblems(title: string, items: readonly string[], rest = ''): void {
  if (items.length === 0) return;
  console.log(`${title} (${items.length}):`);
  for (const item of items.slice(0, SHOWN_PROBLEMS)) console.log(`  ${item}`);
  if (items.length > SHOWN_PROBLEMS) console.log(`  ... and ${items.length - SHOWN_PROBLEMS} more${rest}`);
}
