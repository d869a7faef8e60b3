import { checkClsDataset } from './classification/check-cls.js';
import type { CheckReport } from './check-report.js';
import { checkRecDataset } from './check-rec.js';
import type { TaskName } from './dataset-info.js';
import { checkPcDataset } from './pointcloud/check-pc.js';

/**
 * `falip data check` per task: each reports what its task's evaluation would refuse (missing or
 * undecodable files, sizes, boxes, labels), so import, check and eval agree.
 */
export const CHECKERS: Record<TaskName, (dir: string) => Promise<CheckReport>> = {
  rec: checkRecDataset,
  classification: checkClsDataset,
  pointcloud: checkPcDataset,
};
