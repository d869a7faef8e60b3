import { classificationTask } from './classification/index.js';
import { pointcloudTask } from './pointcloud/index.js';
import { recTask } from './rec/index.js';
import type { AnyTask } from './task-definition.js';

/** Every evaluation task; a new one is a folder under src/tasks/ and a line here. */
export const TASKS: readonly AnyTask[] = [recTask, classificationTask, pointcloudTask];
