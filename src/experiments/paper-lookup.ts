import path from 'node:path';
import type { ArchName, VisionConfig } from '../model/clip-config.js';
import type { AnyTask } from '../tasks/task-definition.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import { matchesPaperArch, paperMismatch, type RanOn } from './paper-applicability.js';
import type { RunRowKey } from './run-json.js';
import { rowKeyOf, taskRowsOf } from './run-table.js';
import { readTableConfig, type TableConfig } from './table-config.js';

export const CONFIG_DIR = path.join(REPO_ROOT, 'configs');

/** One paper row as it would run on a model: its run key and the paper's numbers. */
export interface PaperRow {
  config: string;
  arch: ArchName;
  key: RunRowKey;
  paper: Record<string, number | null>;
}

/** The paper's rows of a task that apply to a model of this geometry, built on it. */
export async function paperRowsFor(task: AnyTask, vision: VisionConfig, configDir = CONFIG_DIR): Promise<PaperRow[]> {
  const configs: TableConfig[] = await Promise.all(
    task.paperConfigs.map((f) => readTableConfig(path.join(configDir, f))),
  );
  return configs
    .filter((cfg) => matchesPaperArch(vision, cfg.arch))
    .flatMap((cfg) => {
      // The papers ran no prompt-tuned CLIP of falip's: only rows of the base CLIP can repeat theirs.
      const built = taskRowsOf({ ...cfg, rows: cfg.rows.filter((r) => !r.prompts) }, vision);
      return built.map((row) => ({
        config: cfg.name,
        arch: cfg.arch,
        key: rowKeyOf(row),
        paper: cfg.rows.find((r) => r.key === row.key)!.paper,
      }));
    });
}

/**
 * The paper's numbers of the paper rows that `row` (run on `model`) repeats, if the papers have any.
 * Several tables may hold the same experiment on different datasets (zero-shot CLIP is in Table 2 and
 * in the base-to-new table): their columns are joined, the first table's number winning. An average
 * means something only in its own table, so `avg` is kept only when one table matches.
 */
export function paperNumbersFor(
  rows: readonly PaperRow[],
  row: RunRowKey,
  model: RanOn,
): Record<string, number | null> | undefined {
  const matches = rows.filter((p) => paperMismatch(model, p.arch, row, p.key) === undefined);
  if (matches.length <= 1) return matches[0]?.paper;
  const joined: Record<string, number | null> = {};
  for (const { paper } of matches)
    for (const [column, value] of Object.entries(paper))
      if (column !== 'avg' && !(column in joined)) joined[column] = value;
  return joined;
}
