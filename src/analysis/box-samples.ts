import { requireDataset } from '../datasets/dataset-store.js';
import type { Preprocessing } from '../image/input-view.js';
import { TASKS, taskNamed, taskOfDataset } from '../tasks/registry.js';
import type { BoxSample, Sampling } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';

/** The image regions an analysis prompts in one dataset split. */
export interface BoxSamples {
  dataset: string;
  split: string;
  task: string;
  /** What the task samples (refs, images), for the counts' wording. */
  sampleUnit: string;
  samples: BoxSample[];
  /** Samples (refs, images) in the split, and how many the seeded subset kept. */
  counts: { total: number; used: number };
  /** How the split's images become the model's input (default squash). */
  preprocess?: Preprocessing;
}

/** The split `--split` names, else the first of the dataset's paper splits. */
export function defaultSplit(dataset: string): string {
  const known = taskOfDataset(dataset);
  if (!known) throw new UserError(`dataset ${dataset}: give --split (falip knows no default split for it)`);
  return known.dataset.splits[0]!;
}

/**
 * The regions of a dataset split, manifest order, under a seeded `--limit` subset of its samples (REC:
 * refs; classification: images), as `falip eval` samples them; the task decides what a region is. The
 * generated demo sets are written on first use.
 */
export async function datasetBoxSamples(dataset: string, split: string, sampling: Sampling): Promise<BoxSamples> {
  await taskOfDataset(dataset)?.dataset.generate?.ensure();
  const { dir, info } = await requireDataset(dataset, split);
  const task = taskNamed(info.task, dir);
  if (!task.boxSamples)
    throw new UserError(
      `dataset ${dataset}/${split} is a ${info.task} dataset; head analyses need image boxes (${tasksWithBoxes()})`,
    );
  return {
    dataset,
    split,
    task: task.name,
    sampleUnit: task.sampleUnit,
    ...(await task.boxSamples(dir, info, sampling)),
  };
}

function tasksWithBoxes(): string {
  return TASKS.filter((t) => t.boxSamples)
    .map((t) => t.title)
    .join(' or ');
}
