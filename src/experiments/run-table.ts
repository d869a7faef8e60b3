import { existsSync } from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE, readDatasetInfo } from '../datasets/dataset-info.js';
import { datasetDir } from '../datasets/dataset-store.js';
import type { Encoder } from '../encoder/encoder.js';
import type { ModelSummary } from '../encoder/open-encoder.js';
import { FeatureCache } from '../encoder/feature-cache.js';
import { archConfig, type VisionConfig } from '../model/clip-config.js';
import type { ClipTokenizer } from '../model/tokenizer.js';
import { makeMethod, methodFootnotes } from '../prompts/method.js';
import type { ResultsTable } from '../report/results-table.js';
import { isDataColumn, type RunDetails, type RunKey, type RunRowKey, type SweepDetails } from './run-json.js';
import { checkRecordsBelong, itemListOf, openRunFolder } from './run-folder.js';
import { taskNamed, taskOfDataset } from '../tasks/registry.js';
import type {
  AnyTask,
  LoadedSplit,
  IntermediateSink,
  RecordSink,
  Sampling,
  TaskRow,
} from '../tasks/task-definition.js';
import { subsetSplitKey } from '../tasks/shared/class-subsets.js';
import { TextFeatures } from '../tasks/shared/text-features.js';
import { UserError } from '../util/errors.js';
import { describeGeometry, matchesPaperArch, randomWeightsNote } from './paper-applicability.js';
import { type PromptedRow, type PromptSetSource, rowMembers, rowsOn, withRowPrompts } from './row-prompts.js';
import { renderResults, writeTableFiles } from './table-files.js';
import type { TableConfig } from './table-config.js';

export interface Progress {
  add(n: number): void;
  stop(): void;
}

export interface RunTableOptions {
  encoder: Encoder;
  tokenizer: ClipTokenizer;
  model: ModelSummary;
  sampling: Sampling;
  out?: string;
  /** Progress sink: total units and their name announced once, then increments. */
  progress: (total: number, unit: string, alreadyDone: number) => Progress;
  /** Bootstrap seed of the intervals (not part of the run key: records do not depend on it). */
  bootstrapSeed?: number;
  /** Folder of the on-disk feature cache (`--cache`). */
  cacheDir?: string;
  /** A sweep's grid, for `falip merge` to plot it again. */
  sweep?: SweepDetails;
  /** The model's registered prompt sets, for rows that name one. */
  prompts?: PromptSetSource;
}

export interface RunTableResult {
  dir: string;
  resumed: boolean;
  table: ResultsTable;
  /** Wall time of the evaluation and the share of it the image/text encoder was running a batch. */
  timing: { seconds: number; encoderBusyShare: number; batches: number };
  /** The splits the table names that are not imported, each with the command that imports it. */
  notImported: { split: string; importCommand: string }[];
}

/** The command that imports a dataset split, as its task knows it. */
export function importCommandOf(data: string): string {
  const [dataset, split] = data.split('/') as [string, string];
  return (
    taskOfDataset(dataset)?.dataset.importCommand(split) ??
    `falip data import <format> ... (see falip data import --help)`
  );
}

/** A row as run.json keeps it: what decides its records. */
export function rowKeyOf(row: TaskRow<unknown>): RunRowKey {
  return {
    key: row.key,
    methods: row.methods.map((m) => ({ name: m.name, params: m.params })),
    options: row.options,
    ...(row.prompts && { prompts: row.prompts.identity }),
  };
}

/**
 * The task's rows of a config, with every method built (and checked) on the model: one per row, or one
 * per prompt set of a row that lists several (its members, `<row>@<set>`).
 */
export function taskRowsOf(cfg: TableConfig, vision: VisionConfig): TaskRow<unknown>[] {
  return cfg.rows
    .filter((r) => !r.status && r.methods)
    .flatMap((r) => {
      const methods = r.methods!.map((m, j) =>
        makeMethod(m.name, m.params, vision, `${cfg.name}: row ${r.key}: methods[${j}]`),
      );
      return rowMembers(r).map((m) => ({ key: m.key, methods, options: r.options }));
    });
}

/** A row as the run key holds it, with its prompts on each dataset where they differ by dataset. */
function promptedRowKey(p: PromptedRow<unknown>): RunRowKey {
  if (!p.perDataset) return rowKeyOf(p.row);
  const perDataset = [...p.perDataset].flatMap(([d, rp]) => (rp ? [[d, rp.identity] as const] : []));
  return { ...rowKeyOf(p.row), prompts: Object.fromEntries(perDataset) };
}

/** The imported dataset splits the columns read, loaded for evaluation (seeded subset under --limit). */
async function loadSplits(
  cfg: TableConfig,
  task: AnyTask,
  sampling: Sampling,
  vision: VisionConfig,
): Promise<{ splits: LoadedSplit[]; missing: string[] }> {
  const splits: LoadedSplit[] = [];
  const missing: string[] = [];
  const columns = cfg.columns.filter(isDataColumn);
  for (const data of [...new Set(columns.map((c) => c.data))]) {
    const [dataset, split] = data.split('/') as [string, string];
    // The generated sets are written on first use, as `falip eval demo` does.
    await taskOfDataset(dataset)?.dataset.generate?.ensure();
    const dir = datasetDir(dataset, split);
    if (!existsSync(path.join(dir, MANIFEST_FILE))) {
      missing.push(data);
      continue;
    }
    const info = await readDatasetInfo(dir);
    if (info.task !== task.name)
      throw new UserError(`${dir}: dataset ${data} is for ${info.task}, the table ${cfg.name} is ${task.name}`);
    // Each half of the classes a column reads is its own set of records.
    const halves = [...new Set(columns.filter((c) => c.data === data).map((c) => c.classes ?? 'all'))];
    for (const classes of halves) {
      const loaded = await task.loadSplit(subsetSplitKey(data, classes), dir, info, sampling, {
        imageSize: vision.imageSize,
        classes,
      });
      // An empty split would leave every cell "not run" under exit 0, as if nothing were wrong.
      if (loaded.samples.total === 0)
        throw new UserError(
          `${path.join(dir, MANIFEST_FILE)}: no ${task.sampleUnit} in the manifest${classes === 'all' ? '' : ` of its ${classes} classes`}: import the dataset again`,
        );
      splits.push(loaded);
    }
  }
  return { splits, missing };
}

function footnotesOf(
  cfg: TableConfig,
  task: AnyTask,
  rows: TaskRow<unknown>[],
  splits: LoadedSplit[],
  missing: string[],
  tooLong: number,
  opts: RunTableOptions,
  archMatches: boolean,
  promptNotes: readonly string[],
): string[] {
  const datasets = [...new Set(cfg.columns.filter(isDataColumn).map((c) => c.data.split('/')[0]!))];
  const random = opts.model.randomWeights;
  // On random weights this comes first: it changes how every number below reads.
  const notes = [
    ...(random !== null ? [randomWeightsNote(random)] : []),
    ...cfg.footnotes,
    ...datasets.flatMap((d) => taskOfDataset(d)?.dataset.footnotes ?? []),
    ...task.footnotes(rows, splits),
    ...promptNotes,
  ];
  notes.push(...methodFootnotes(rows.flatMap((r) => r.methods.map((m) => m.description))));
  const m = opts.model;
  // The device is in run.json: it does not change the numbers, and shards run on different ones.
  notes.push(
    `Model: ${m.name} (weights sha256 ${m.sha256.slice(0, 12)}, config ${m.configHash.slice(0, 12)}), ${m.precision}.`,
  );
  if (m.precision === 'int8')
    notes.push(
      "int8: the linear layers run with int8 weights (per output channel) and activations quantized per model call, one request per call; the numbers differ from fp32's (falip bench --precision int8 measures by how much).",
    );
  if (!archMatches && random === null && paperMeasured(cfg)) {
    notes.push(
      `The paper's numbers are for ${cfg.arch} (${describeGeometry(archConfig(cfg.arch, 0).vision)}); this model has ${describeGeometry(m.vision)}, so none is shown.`,
    );
  }
  if (opts.sampling.limit !== undefined) {
    const sampled = splits
      .filter((c) => c.samples.evaluated < c.samples.total)
      .map((c) => `${c.key} ${c.samples.evaluated} of ${c.samples.total}`);
    notes.push(
      sampled.length > 0
        ? `Seeded random subset of ${task.sampleUnit} (--limit ${opts.sampling.limit}, --sample-seed ${opts.sampling.seed}): ${sampled.join(', ')}; the paper uses every one.`
        : `--limit ${opts.sampling.limit} is at least every split's size: all ${task.sampleUnit} were evaluated.`,
    );
  }
  if (tooLong > 0)
    notes.push(
      `${tooLong} caption(s) of the data are longer than the text encoder's ${opts.encoder.config.text.contextLength} tokens and are cut to fit (the reference tokenizer refuses them).`,
    );
  if (missing.length > 0)
    notes.push(`Not imported: ${missing.map((m) => `${m} (\`${importCommandOf(m)}\`)`).join(', ')}.`);
  return notes;
}

/**
 * Whether the paper has numbers this table could show: in its rows, or for its datasets (eval looks them
 * up only for a model of the paper's geometry). The demo sets have none, so their tables need not say
 * why none is shown.
 */
function paperMeasured(cfg: TableConfig): boolean {
  return (
    cfg.rows.some((r) => Object.keys(r.paper).length > 0) ||
    cfg.columns.some((c) => 'data' in c && taskOfDataset(c.data.split('/')[0]!)?.dataset.paperSamples !== undefined)
  );
}

/** The splits that hold fewer samples than the paper's (a smaller import, or --limit), with both counts. */
function partialSplits(splits: readonly LoadedSplit[]): RunDetails['render']['partial_splits'] {
  return Object.fromEntries(
    splits.flatMap((s) => {
      const [dataset, split] = s.key.split('/') as [string, string];
      const paper = taskOfDataset(dataset)?.dataset.paperSamples?.[split];
      return paper !== undefined && s.samples.evaluated < paper
        ? [[s.key, { evaluated: s.samples.evaluated, paper }]]
        : [];
    }),
  );
}

/** How many of the rows' captions on these splits the text encoder must cut. */
async function captionsTooLong(
  task: AnyTask,
  rowsOf: (split: LoadedSplit) => TaskRow<unknown>[],
  splits: LoadedSplit[],
  opts: RunTableOptions,
): Promise<number> {
  const context = opts.encoder.config.text.contextLength;
  const captions = new Set((await Promise.all(splits.map((c) => task.captions(rowsOf(c), c)))).flat());
  return [...captions].filter((t) => opts.tokenizer.encode(t, Number.MAX_SAFE_INTEGER).length > context).length;
}

/**
 * Evaluates a table config: every row on every imported split, resuming a previous run of the
 * same run key, then writes the table files. Under `--shard K/N` the run holds the shard's items only,
 * and `falip merge` puts the shards' folders together.
 */
export async function runTable(cfg: TableConfig, opts: RunTableOptions): Promise<RunTableResult> {
  const task = taskNamed(cfg.task);
  const vision = opts.encoder.config.vision;
  const taskRows = taskRowsOf(cfg, vision);
  const { splits, missing } = await loadSplits(cfg, task, opts.sampling, vision);
  // Nothing to run is a mistake to say, not an empty table to write (and no folder is made for it).
  if (splits.length === 0)
    throw new UserError(
      `${cfg.name}: nothing to run: none of its splits is imported (${missing.join(', ')}); import one, e.g. \`${importCommandOf(missing[0]!)}\``,
    );
  const datasetOf = (split: LoadedSplit) => split.key.split('/')[0]!;
  const prompted = await withRowPrompts(cfg, taskRows, opts.encoder.config, opts.prompts, [
    ...new Set(splits.map(datasetOf)),
  ]);
  const rowsOf = (split: LoadedSplit) => rowsOn(prompted.rows, datasetOf(split));
  // Every row in the config's order, a row with a set per dataset shown by one of them (for the footnotes).
  const rows = prompted.rows.map(({ row, perDataset }) => {
    const some = perDataset && [...perDataset.values()].find((p) => p !== null);
    return some ? { ...row, prompts: some } : row;
  });
  const missingPrompts: Record<string, string[]> = {};
  for (const m of prompted.missing) missingPrompts[m.row] = [...new Set([...(missingPrompts[m.row] ?? []), m.dataset])];
  const m = opts.model;
  const runKey: RunKey = {
    task: task.name,
    model: { sha256: m.sha256, config: m.configHash, precision: m.precision },
    rows: prompted.rows.map(promptedRowKey),
    splits: splits.map((c) => ({ key: c.key, content: c.contentHash })),
    sampling: { limit: opts.sampling.limit ?? null, sample_seed: opts.sampling.seed },
    ...(opts.sampling.shard && { shard: opts.sampling.shard }),
  };
  const archMatches = matchesPaperArch(vision, cfg.arch);
  // The paper's numbers stand beside ours only on trained weights of the paper's geometry.
  const paperApplies = archMatches && m.randomWeights === null;
  const render: RunDetails['render'] = {
    config: cfg,
    footnotes: footnotesOf(
      cfg,
      task,
      rows,
      splits,
      missing,
      await captionsTooLong(task, rowsOf, splits, opts),
      opts,
      archMatches,
      prompted.footnotes,
    ),
    withheld: paperApplies ? [] : cfg.rows.filter((r) => Object.keys(r.paper).length > 0).map((r) => r.key),
    not_imported: missing,
    ...(prompted.missing.length > 0 && { missing_prompts: missingPrompts }),
    bootstrap_seed: opts.bootstrapSeed ?? 0,
    hide_paper: m.randomWeights !== null,
    partial_splits: partialSplits(splits),
  };
  const expected = new Map(
    splits.flatMap((c) => rowsOf(c).map((r) => [JSON.stringify([r.key, c.key]), c.itemIds] as const)),
  );
  const expectedRecords = [...expected.values()].reduce((n, ids) => n + ids.size, 0);
  const details: RunDetails = {
    title: cfg.title,
    model: { name: m.name, device: m.device, vision: m.vision, random_weights: m.randomWeights },
    render,
    expected_records: expectedRecords,
    ...(opts.sweep && { sweep: opts.sweep }),
  };
  const run = await openRunFolder({
    name: cfg.name,
    runKey,
    details,
    out: opts.out,
    provenance: { model: m.name, device: m.device },
    items: Object.fromEntries(splits.map((c) => [c.key, itemListOf(c.itemIds)])),
  });
  // Records computed on data that changed under the run must never land under its key: every append
  // first verifies that each split's folder still holds the content the key names.
  const pins = splits.map((c) => c.pin);
  const verifyPins = async () => {
    for (const pin of pins) await pin.verify();
  };
  run.records.checkBeforeAppend(verifyPins);
  run.intermediate.checkBeforeAppend(verifyPins);
  try {
    checkRecordsBelong(run.records, expected);
    checkRecordsBelong(run.intermediate, expected);
    const texts = new TextFeatures(opts.encoder, opts.tokenizer);
    const cache = opts.cacheDir
      ? new FeatureCache(opts.cacheDir, `${m.sha256}|${m.configHash}|${m.precision}`)
      : undefined;
    // Progress counts records, as the table does (REC: sentences); what a resumed run already holds is
    // done from the start and not part of the rate. A β-search row's item is done when its view scores
    // are kept (the records come all at once at the end), so it counts then, and once.
    const pending = (e: { row: string; split: string; id: string }) => !run.records.has(e.row, e.split, e.id);
    const bar = opts.progress(
      expectedRecords,
      task.recordUnit,
      run.records.all().length + run.intermediate.all().filter(pending).length,
    );
    const counted: RecordSink = {
      has: (row, split, id) => run.records.has(row, split, id),
      append: async (record) => {
        await run.records.append(record);
        if (!run.intermediate.has(record.row, record.split, record.id)) bar.add(1);
      },
    };
    const intermediate: IntermediateSink = {
      has: (row, split, id) => run.intermediate.has(row, split, id),
      get: (row, split, id) => run.intermediate.get(row, split, id),
      path: run.intermediate.path,
      append: async (entry) => {
        await run.intermediate.append(entry);
        bar.add(1);
      },
    };
    const before = opts.encoder.stats();
    const t0 = performance.now();
    try {
      for (const split of splits) {
        await task.evaluate(rowsOf(split), split, {
          encoder: opts.encoder,
          texts,
          records: counted,
          intermediate,
          cache,
        });
      }
    } finally {
      bar.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = opts.encoder.stats();
    const timing = {
      seconds,
      encoderBusyShare: seconds > 0 ? (after.busyMs - before.busyMs) / 1000 / seconds : 0,
      batches: after.batches - before.batches,
    };
    const records = run.records.all();
    // Images are not stamped one by one: the whole content is hashed again before the run is complete.
    for (const pin of pins) await pin.verify(true);
    await run.markComplete(expectedRecords);
    const table = renderResults(render, records);
    await writeTableFiles(run.dir, table, records.length);
    return {
      dir: run.dir,
      resumed: run.resumed,
      table,
      timing,
      notImported: [
        ...missing.map((split) => ({ split, importCommand: importCommandOf(split) })),
        ...prompted.missing.map((m) => ({
          split: `prompt set ${m.set} (row ${m.row} on ${m.dataset})`,
          importCommand: opts.prompts!.importCommand(m.set),
        })),
      ],
    };
  } finally {
    await run.close();
  }
}
