import path from 'node:path';
import type { VisionConfig } from '../model/clip-config.js';
import type { AnyTask } from '../tasks/task-definition.js';
import { canonicalJson } from '../util/canonical-json.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import { matchesPaperArch } from './paper-arch.js';
import { rowKeyOf, taskRowsOf, type RunRowKey } from './run-table.js';
import { readTableConfig, type TableConfig } from './table-config.js';

export const CONFIG_DIR = path.join(REPO_ROOT, 'configs');

/** What makes two rows the same experiment: their methods with resolved parameters, and the task's options. */
export function sameExperiment(a: RunRowKey, b: RunRowKey): boolean {
  return (
    canonicalJson({ methods: a.methods, options: a.options }) ===
    canonicalJson({ methods: b.methods, options: b.options })
  );
}

/** One paper row as it would run on a model: its run key and the paper's numbers. */
export interface PaperRow {
  config: string;
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
      const built = taskRowsOf(cfg, vision);
      return built.map((row) => ({
        config: cfg.name,
        key: rowKeyOf(row),
        paper: cfg.rows.find((r) => r.key === row.key)!.paper,
      }));
    });
}

/** The paper's numbers of the row that is the same experiment as `row`, if the paper has one. */
export function paperNumbersFor(rows: readonly PaperRow[], row: RunRowKey): Record<string, number | null> | undefined {
  return rows.find((p) => sameExperiment(p.key, row))?.paper;
}
