import type { TaskName } from '../datasets/dataset-info.js';
import { classificationTask } from './classification/index.js';
import { pointcloudTask } from './pointcloud/index.js';
import { recTask } from './rec/index.js';
import type { TaskDataset, AnyTask } from './task-definition.js';

/** Every evaluation task; a new one is a folder under src/tasks/ and a line here. */
export const TASKS: readonly AnyTask[] = [recTask, classificationTask, pointcloudTask];

export function taskNamed(name: TaskName): AnyTask {
  const task = TASKS.find((t) => t.name === name);
  if (!task) throw new Error(`no task '${name}' is registered`);
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
