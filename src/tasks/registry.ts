import type { DatasetImporter } from '../datasets/importer.js';
import { UserError } from '../util/errors.js';
import type { AnyTask, TaskDataset } from './task-definition.js';
import { TASKS } from './task-list.js';

/** Lookups over the task list (task-list.ts): names, datasets and importers are all derived from it. */
export { TASKS };

/** Every `falip data import <name>`, over all tasks. */
export function allImporters(): DatasetImporter[] {
  return TASKS.flatMap((t) => t.importers);
}

/** The task a dataset.json or a table config names; `where` says which file names it, for the error. */
export function taskNamed(name: string, where = 'task'): AnyTask {
  const task = TASKS.find((t) => t.name === name);
  if (!task)
    throw new UserError(`${where}: unknown task "${name}" (falip knows ${TASKS.map((t) => t.name).join(', ')})`);
  return task;
}

/** The task that knows a dataset by name (refcoco → rec), with its defaults. */
export function taskOfDataset(dataset: string): { task: AnyTask; dataset: TaskDataset } | undefined {
  for (const task of TASKS) {
    const d = task.datasets[dataset];
    if (d) return { task, dataset: d };
  }
  return undefined;
}
