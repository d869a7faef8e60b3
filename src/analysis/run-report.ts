import path from 'node:path';
import type { HtmlReportModel } from '../report/html-report-model.js';
import { RecordLog } from '../report/records.js';
import { RECORDS_JSONL, RUN_JSON } from '../report/run-files.js';
import { readRunJson, type RunJson } from '../experiments/run-json.js';
import { readRunPlots, readRunTable } from '../report/run-table-files.js';
import { UserError } from '../util/errors.js';
import { runExamples } from './run-examples.js';

function aboutLines(dir: string, run: RunJson, records: number): string[] {
  const { key, details, provenance: p } = run;
  const sampling = key.sampling.limit
    ? `seeded subset of ${key.sampling.limit} per split (seed ${key.sampling.sample_seed})`
    : 'every sample';
  return [
    `Run folder: ${path.resolve(dir)} (run key ${run.config_hash})`,
    `Task ${key.task} on ${key.splits.map((c) => c.key).join(', ') || 'no imported split'}; ${sampling}; ${records} records`,
    `Model ${details.model.name} (weights sha256 ${key.model.sha256.slice(0, 12)}, ${key.model.precision}), device ${details.model.device}`,
    `Created ${p.created_at} by falip ${p.falip_version}, git ${p.git_commit?.slice(0, 12) ?? 'none'}${p.dirty ? ' (uncommitted changes)' : ''}, node ${p.node}, onnxruntime ${p.onnxruntime ?? '?'}`,
  ];
}

/** Everything `falip report` shows of a run folder, with `perRow` example cards per table row. */
export async function loadRunReport(dir: string, perRow: number): Promise<HtmlReportModel> {
  const run = await readRunJson(path.join(dir, RUN_JSON));
  if (!run) throw new UserError(`${dir}: not a results folder (no run.json)`);
  const [records, table, plots] = await Promise.all([
    RecordLog.read(path.join(dir, RECORDS_JSONL)),
    readRunTable(dir),
    readRunPlots(dir),
  ]);
  const labels = new Map((table?.rows ?? []).map((r) => [r.key, r.label]));
  return {
    title: run.details.title,
    about: aboutLines(dir, run, records.length),
    table,
    plots,
    examples:
      perRow > 0
        ? await runExamples(run, records, labels, perRow)
        : { missing: 'no examples asked for (--examples 0)' },
  };
}
