import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HtmlReportModel } from '../report/html-report-model.js';
import type { EvalRecord } from '../report/records.js';
import { readRunJson, type RunJson } from '../report/run-folder.js';
import { readRunPlots, readRunTable } from '../report/run-table-files.js';
import { UserError } from '../util/errors.js';
import { runExamples } from './run-examples.js';

/**
 * records.jsonl read without touching it: a run still writing may have a partial last line, which is
 * skipped (the record log itself would repair the file, and a report must only read).
 */
async function readRecords(file: string): Promise<EvalRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code})`);
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const records: EvalRecord[] = [];
  lines.forEach((line, i) => {
    let r: Partial<EvalRecord>;
    try {
      r = JSON.parse(line) as Partial<EvalRecord>;
    } catch {
      if (i === lines.length - 1) return;
      throw new UserError(`${file}:${i + 1}: not valid JSON`);
    }
    if (typeof r.row !== 'string' || typeof r.column !== 'string' || typeof r.id !== 'string' || typeof r.pred !== 'number' || typeof r.correct !== 'boolean') {
      throw new UserError(`${file}:${i + 1}: not a falip record (row, column, id, pred, correct)`);
    }
    records.push(r as EvalRecord);
  });
  return records;
}

interface RunDetails {
  title?: string;
  model?: { name?: string; device?: string };
}

interface RunKeyView {
  task?: string;
  model?: { sha256?: string; precision?: string };
  columns?: { key: string }[];
  sampling?: { limit?: number | null; sample_seed?: number };
}

function aboutLines(dir: string, run: RunJson, records: number): string[] {
  const details = (run.details ?? {}) as RunDetails;
  const key = run.key as RunKeyView;
  const p = run.provenance;
  const sampling = key.sampling?.limit ? `seeded subset of ${key.sampling.limit} per split (seed ${key.sampling.sample_seed ?? 0})` : 'every sample';
  return [
    `Run folder: ${path.resolve(dir)} (run key ${run.config_hash})`,
    `Task ${key.task ?? '?'} on ${(key.columns ?? []).map((c) => c.key).join(', ') || 'no imported split'}; ${sampling}; ${records} records`,
    `Model ${details.model?.name ?? '?'} (weights sha256 ${key.model?.sha256?.slice(0, 12) ?? '?'}, ${key.model?.precision ?? 'fp32'}), device ${details.model?.device ?? '?'}`,
    `Created ${p.created_at} by falip ${p.falip_version}, git ${p.git_commit?.slice(0, 12) ?? 'none'}${p.dirty ? ' (uncommitted changes)' : ''}, node ${p.node}, onnxruntime ${p.onnxruntime ?? '?'}`,
  ];
}

/** Everything `falip report` shows of a run folder, with `perRow` example cards per table row. */
export async function loadRunReport(dir: string, perRow: number): Promise<HtmlReportModel> {
  const run = await readRunJson(path.join(dir, 'run.json'));
  if (!run) throw new UserError(`${dir}: not a results folder (no run.json)`);
  const [records, table, plots] = await Promise.all([readRecords(path.join(dir, 'records.jsonl')), readRunTable(dir), readRunPlots(dir)]);
  const labels = new Map((table?.rows ?? []).map((r) => [r.key, r.label]));
  return {
    title: ((run.details ?? {}) as RunDetails).title ?? table?.title ?? run.name,
    about: aboutLines(dir, run, records.length),
    table,
    plots,
    examples: perRow > 0 ? await runExamples(run, records, labels, perRow) : { missing: 'no examples asked for (--examples 0)' },
  };
}
