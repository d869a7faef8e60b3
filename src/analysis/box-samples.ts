import path from 'node:path';
import { readClsManifest } from '../datasets/classification/cls-manifest.js';
import { MANIFEST_FILE, resolveImageRoot, type TaskName } from '../datasets/dataset-info.js';
import { requireDataset } from '../datasets/dataset-store.js';
import { readRecManifest, targetsOf } from '../datasets/rec-manifest.js';
import type { BoxXYWH } from '../image/box.js';
import { taskOfDataset } from '../tasks/registry.js';
import { seededSubset } from '../tasks/sample-subset.js';
import type { Sampling } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';

/** One region of one image that an analysis prompts: a REC ref's target, a classification image's box. */
export interface BoxSample {
  /** The ref or image id (a ref with several targets: `<id>#<k>`). */
  id: string;
  /** Absolute image path. */
  image: string;
  /** The image's size as the manifest records it (the box's coordinate system). */
  width: number;
  height: number;
  box: BoxXYWH;
}

export interface BoxSamples {
  dataset: string;
  split: string;
  task: TaskName;
  samples: BoxSample[];
  /** Samples (refs, images) in the split, and how many the seeded subset kept. */
  counts: { total: number; used: number };
}

/** The split `--split` names, else the first of the dataset's paper splits. */
export function defaultSplit(dataset: string): string {
  const known = taskOfDataset(dataset);
  if (!known) throw new UserError(`dataset ${dataset}: give --split (falip knows no default split for it)`);
  return known.dataset.splits[0]!;
}

/**
 * The regions of a dataset split, manifest order, under a seeded `--limit` subset of its samples (REC:
 * refs; classification: images), as `falip eval` samples them. The generated demo sets are written on
 * first use.
 */
export async function datasetBoxSamples(dataset: string, split: string, sampling: Sampling): Promise<BoxSamples> {
  await taskOfDataset(dataset)?.dataset.ensure?.();
  const { dir, info } = await requireDataset(dataset, split);
  const manifest = path.join(dir, MANIFEST_FILE);
  const root = resolveImageRoot(dir, info);
  const image = (p: string) => path.resolve(root, p);
  switch (info.task) {
    case 'rec': {
      const all = await readRecManifest(manifest);
      const refs = seededSubset(all, sampling.limit, sampling.seed);
      const samples = refs.flatMap((ref) => {
        const targets = targetsOf(ref);
        return targets.map((t, k) => ({
          id: targets.length > 1 ? `${ref.id}#${k}` : ref.id,
          image: image(ref.image),
          width: ref.width,
          height: ref.height,
          box: t.box,
        }));
      });
      return { dataset, split, task: info.task, samples, counts: { total: all.length, used: refs.length } };
    }
    case 'classification': {
      const all = await readClsManifest(manifest);
      const used = seededSubset(all, sampling.limit, sampling.seed);
      return {
        dataset,
        split,
        task: info.task,
        samples: used.map((s) => ({ id: s.id, image: image(s.image), width: s.width, height: s.height, box: s.box })),
        counts: { total: all.length, used: used.length },
      };
    }
    default:
      throw new UserError(
        `dataset ${dataset}/${split} is a ${info.task} dataset; head analyses need image boxes (REC or classification)`,
      );
  }
}
