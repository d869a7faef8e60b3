import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DATASET_INFO_FILE, readDatasetInfo } from '../datasets/dataset-info.js';
import { datasetsRoot, requireDataset } from '../datasets/dataset-store.js';
import { taskNamed, taskOfDataset, TASKS } from '../tasks/registry.js';
import type { TaskDataset, AnyTask } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';

export interface DatasetTask {
  task: AnyTask;
  /** The task's defaults for the dataset; imported datasets of other names get generic ones. */
  dataset: TaskDataset;
}

/**
 * The task of a dataset name: the one whose registry knows it (refcoco → rec, cub → classification),
 * else the task an imported split of it records in its dataset.json.
 */
export async function datasetTask(name: string): Promise<DatasetTask> {
  const known = taskOfDataset(name);
  if (known) return known;
  const dir = path.join(datasetsRoot(), name);
  const splits = await readdir(dir).catch(() => [] as string[]);
  for (const split of splits.sort()) {
    const info = await readDatasetInfo(path.join(dir, split)).catch(() => undefined);
    if (info) {
      const task = taskNamed(info.task, path.join(dir, split, DATASET_INFO_FILE));
      return {
        task,
        dataset: {
          splits,
          label: name,
          importCommand: () => `falip data import ... (${DATASET_INFO_FILE} of ${name} says ${info.task})`,
        },
      };
    }
  }
  const known_ = TASKS.flatMap((t) => Object.keys(t.datasets));
  throw new UserError(
    `dataset ${name}: not a dataset falip knows (${known_.join(', ')}) and nothing is imported under ${dir}`,
  );
}

/**
 * The imported ones of `splits`, in order. Evaluating nothing is an input error that names the import
 * command; when only some splits are imported, stderr names the others (eval keeps them in its table
 * as "not imported"; `whatRuns`, given the imported splits, ends each such line, e.g. what a sweep runs on).
 */
export async function requireSomeSplit(
  name: string,
  d: DatasetTask,
  splits: readonly string[],
  whatRuns?: (imported: readonly string[]) => string,
): Promise<string[]> {
  if (splits.length === 0) throw new UserError(`dataset ${name}: no split given`);
  const checks = await Promise.allSettled(splits.map((s) => requireDataset(name, s)));
  const missing = splits.filter((_, i) => checks[i]!.status === 'rejected');
  const imported = splits.filter((_, i) => checks[i]!.status === 'fulfilled');
  const hint = (s: string) => `dataset ${name}/${s} is not imported: run \`${d.dataset.importCommand(s)}\``;
  if (imported.length === 0) {
    const reason = (checks[0] as PromiseRejectedResult).reason as Error;
    throw reason instanceof UserError && /not imported/.test(reason.message) ? new UserError(hint(splits[0]!)) : reason;
  }
  for (const s of missing) process.stderr.write(`falip: ${hint(s)}${whatRuns ? `; ${whatRuns(imported)}` : ''}\n`);
  return imported;
}
