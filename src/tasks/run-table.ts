import { existsSync } from 'node:fs';
import path from 'node:path';
import { readDatasetInfo, MANIFEST_FILE, resolveImageRoot } from '../datasets/dataset-info.js';
import { datasetDir } from '../datasets/dataset-store.js';
import { readRecManifest } from '../datasets/rec-manifest.js';
import type { ClipEncoder } from '../encoder/clip-encoder.js';
import { TextFeatures } from '../encoder/text-features.js';
import { AblationEncoder } from '../encoder/ablation-encoder.js';
import { FeatureCache } from '../encoder/feature-cache.js';
import { BUILDER_VERSION } from '../model/graph-cache.js';
import type { ClipTokenizer } from '../model/tokenizer.js';
import { describeMethod, type Method } from '../prompts/method.js';
import { buildResultsTable, type CellStatus, type ResultsTable, type TableSpec } from '../report/results-table.js';
import { renderCsv } from '../report/render-csv.js';
import { renderMarkdown } from '../report/render-markdown.js';
import type { EvalRecord } from '../report/records.js';
import { openRunFolder } from '../report/run-folder.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { SUBTRACT_DEFAULTS, type SubtractSpec } from './rec/negatives.js';
import { evaluateRecColumn, splitBank, type RecColumn, type RecRow } from './rec/rec-eval.js';
import { methodFromEntry } from './resolve-methods.js';
import { seededSubset } from './sample-subset.js';
import { columnKey, columnLabel, type TableConfig, type TableRowConfig } from './table-config.js';

export interface RunTableOptions {
  encoder: ClipEncoder;
  tokenizer: ClipTokenizer;
  /** Shown in run.json and the footnotes. */
  model: { name: string; sha256: string; device: string };
  limit?: number;
  sampleSeed: number;
  out?: string;
  /** Progress sink: total units announced once, then increments. */
  progress: (total: number) => { add(n: number): void; stop(): void };
  /** Bootstrap seed of the intervals. */
  bootstrapSeed?: number;
  /** Folder of the on-disk feature cache (`--cache`). */
  cacheDir?: string;
}

export interface RunTableResult {
  dir: string;
  resumed: boolean;
  table: ResultsTable;
  /** Wall time of the evaluation and the share of it the image/text encoder was running a batch. */
  timing: { seconds: number; encoderBusyShare: number; batches: number };
}

function subtractOf(row: TableRowConfig): SubtractSpec | undefined {
  if (row.subtract === false) return undefined;
  return row.subtract === true ? SUBTRACT_DEFAULTS : row.subtract;
}

/** The columns whose dataset split is imported, as evaluation inputs (seeded subset under --limit). */
async function loadColumns(cfg: TableConfig, limit: number | undefined, seed: number): Promise<{ columns: RecColumn[]; missing: string[] }> {
  const columns: RecColumn[] = [];
  const missing: string[] = [];
  for (const c of cfg.columns) {
    const key = columnKey(c);
    const [dataset, split] = key.split('/') as [string, string];
    const dir = datasetDir(dataset, split);
    const manifest = path.join(dir, MANIFEST_FILE);
    if (!existsSync(manifest)) {
      missing.push(key);
      continue;
    }
    const info = await readDatasetInfo(dir);
    const all = await readRecManifest(manifest);
    columns.push({ key, samples: seededSubset(all, limit, seed), imageRoot: resolveImageRoot(dir, info), manifest, bank: splitBank(all) });
  }
  return { columns, missing };
}

function footnotesOf(cfg: TableConfig, rows: RecRow[], columns: RecColumn[], opts: RunTableOptions, missing: string[]): string[] {
  const methods = new Map<string, Method>();
  for (const r of rows) for (const m of r.methods) methods.set(describeMethod(m), m);
  const notes = [...cfg.footnotes, ...[...methods.keys()].map((d) => `Method ${d}.`)];
  const sub = rows.find((r) => r.subtract)?.subtract;
  if (sub) {
    notes.push(
      `Subtract (P): minus the mean logit of ${sub.count} negative captions per sentence drawn from ${sub.from === 'split' ? 'all captions of the split (as FGVP\'s code; may include the positive)' : 'captions of other images of the split (as the paper\'s text)'}, seeded (${sub.seed}) per sentence id.`,
    );
  }
  const small = sub ? columns.filter((c) => c.bank.length < sub.count) : [];
  if (small.length > 0) notes.push(`Fewer captions than negatives asked for in ${small.map((c) => `${c.key} (${c.bank.length})`).join(', ')}: all of them are the negatives.`);
  if (rows.some((r) => r.methods.length > 1)) notes.push('Ensembles (E) sum the methods\' logits per box, ReCLIP-style, without weights.');
  notes.push(`Model: ${opts.model.name} (sha256 ${opts.model.sha256.slice(0, 12)}), device ${opts.model.device}.`);
  if (opts.limit !== undefined) notes.push(`Seeded random subset of ${opts.limit} refs per split (--sample-seed ${opts.sampleSeed}); the paper uses every ref.`);
  if (missing.length > 0) notes.push(`Not imported: ${missing.join(', ')} (falip data import ...).`);
  return notes;
}

export function tableSpecOf(cfg: TableConfig, footnotes: string[]): TableSpec {
  return {
    title: cfg.title,
    columns: cfg.columns.map((c) => ({ key: columnKey(c), label: columnLabel(c) })),
    rows: cfg.rows.map((r) => ({ key: r.key, label: r.label, paper: r.paper })),
    baselineRow: cfg.baseline,
    footnotes,
    average: cfg.average,
  };
}

export function statusesOf(cfg: TableConfig, missing: readonly string[]): Record<string, Record<string, CellStatus>> {
  const statuses: Record<string, Record<string, CellStatus>> = {};
  for (const r of cfg.rows) {
    statuses[r.key] = {};
    for (const c of cfg.columns) {
      const key = columnKey(c);
      if (r.status) statuses[r.key]![key] = r.status;
      else if (missing.includes(key)) statuses[r.key]![key] = 'not imported';
    }
  }
  return statuses;
}

/** Writes metrics.json, table.csv and table.md of a results table into `dir`. */
export async function writeTableFiles(dir: string, table: ResultsTable, records: readonly EvalRecord[]): Promise<void> {
  const metrics = table.rows.map((row) => ({
    row: row.key,
    label: row.label,
    cells: Object.fromEntries(
      row.cells.map((c) => [c.column, { ours: c.ours, paper: c.paper, delta: c.delta, status: c.status, paired_vs_baseline: c.paired }]),
    ),
  }));
  await writeFileAtomic(path.join(dir, 'metrics.json'), `${JSON.stringify({ title: table.title, rows: metrics, items: records.length }, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, 'table.csv'), await renderCsv(table));
  await writeFileAtomic(path.join(dir, 'table.md'), renderMarkdown(table));
}

/**
 * Evaluates a table config: every row on every imported column, resuming a previous run of the
 * same configuration, then writes the table files.
 */
export async function runTable(cfg: TableConfig, opts: RunTableOptions): Promise<RunTableResult> {
  const v = opts.encoder.config.vision;
  const rows: RecRow[] = cfg.rows
    .filter((r) => !r.status && r.methods)
    .map((r) => ({ key: r.key, setting: r.setting, methods: r.methods!.map((m) => methodFromEntry(m, v)), ...(subtractOf(r) && { subtract: subtractOf(r) }) }));
  const { columns, missing } = await loadColumns(cfg, opts.limit, opts.sampleSeed);
  const resolvedConfig = {
    table: cfg,
    rows,
    model: { name: opts.model.name, sha256: opts.model.sha256 },
    columns: columns.map((c) => ({ key: c.key, refs: c.samples.length })),
    limit: opts.limit ?? null,
    sample_seed: opts.sampleSeed,
    bootstrap_seed: opts.bootstrapSeed ?? 0,
  };
  const run = await openRunFolder({ name: cfg.name, resolvedConfig, out: opts.out, provenance: { model: opts.model } });
  const texts = new TextFeatures(opts.encoder, opts.tokenizer);
  const ablation = rows.some((r) => r.methods.some((m) => m.ablation)) ? new AblationEncoder(opts.encoder.graphs, { ...opts.encoder.options, lock: opts.encoder.lock }) : undefined;
  const cache = opts.cacheDir ? new FeatureCache(opts.cacheDir, `${opts.model.sha256}|graphs v${BUILDER_VERSION}`) : undefined;
  const total = columns.reduce((s, c) => s + c.samples.length * rows.length, 0);
  const bar = opts.progress(total);
  const before = opts.encoder.stats();
  const t0 = performance.now();
  try {
    for (const column of columns) {
      await evaluateRecColumn(rows, column, { encoder: opts.encoder, texts, records: run.records, progress: (n) => bar.add(n), cache, ablation });
    }
  } finally {
    bar.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = opts.encoder.stats();
  const timing = { seconds, encoderBusyShare: seconds > 0 ? (after.busyMs - before.busyMs) / 1000 / seconds : 0, batches: after.batches - before.batches };
  const records = run.records.all();
  const table = buildResultsTable(tableSpecOf(cfg, footnotesOf(cfg, rows, columns, opts, missing)), records, {
    statuses: statusesOf(cfg, missing),
    seed: opts.bootstrapSeed ?? 0,
  });
  await writeTableFiles(run.dir, table, records);
  return { dir: run.dir, resumed: run.resumed, table, timing };
}
