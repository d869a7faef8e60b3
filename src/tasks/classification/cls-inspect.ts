import path from 'node:path';
import { MANIFEST_FILE, resolveImageRoot } from '../../datasets/dataset-info.js';
import { boxFractions } from '../../image/box.js';
import type { Preprocessing } from '../../image/input-view.js';
import { subsetLabels, subsetOfSplitKey } from '../shared/class-subsets.js';
import { seededSubset } from '../shared/sample-subset.js';
import type { ExampleHooks, TaskDefinition } from '../task-definition.js';
import type { ClsOptions } from './cls-eval.js';
import { type ClsSample, readClasses, readClsManifest } from './cls-manifest.js';

/**
 * How falip's inspection tools see a classification split: `analyze heads` prompts each sampled image's
 * box, the report draws each image's card.
 */

/**
 * Each image of the seeded subset with its box (in the image's own pixels), and its foreground mask
 * where the dataset was imported with `--masks` (dataset.json's `mask_folder`, same relative path).
 */
export function clsBoxSamples(
  preprocessOf: (dataset: string) => Preprocessing,
): NonNullable<TaskDefinition['boxSamples']> {
  return async (dir, info, sampling) => {
    const all = await readClsManifest(path.join(dir, MANIFEST_FILE));
    const root = resolveImageRoot(dir, info);
    const maskFolder = info.options?.mask_folder;
    const used = seededSubset(all, sampling.limit, sampling.seed);
    return {
      samples: used.map((s) => ({
        id: s.id,
        image: path.resolve(root, s.image),
        width: s.width,
        height: s.height,
        box: s.box,
        ...(typeof maskFolder === 'string' && { mask: path.resolve(maskFolder, s.image) }),
      })),
      counts: { total: all.length, used: used.length },
      preprocess: preprocessOf(info.name),
    };
  };
}

/** An image's card: its box, its true class, and the record's top 5 classes (the true one marked). */
export const clsExamples: ExampleHooks<ClsOptions> = {
  legend: [{ kind: 'region', text: 'the box the method marks' }],
  async cards(dir) {
    const [samples, classes] = await Promise.all([readClsManifest(path.join(dir, MANIFEST_FILE)), readClasses(dir)]);
    const byId = new Map<string, ClsSample>(samples.map((s) => [s.id, s]));
    const name = (c: number) => classes.names[c] ?? `class ${c}`;
    return (record) => {
      const sample = byId.get(record.id);
      if (!sample) return null;
      // A base-to-new half's records hold labels relabelled 0..k−1 from its first class.
      const from = subsetLabels(classes.names.length, subsetOfSplitKey(record.split)).from;
      const top5 = Array.isArray(record.top5) ? (record.top5 as number[]) : [record.pred];
      return {
        image: sample.image,
        caption: `true class: ${name(sample.label)}`,
        boxes: [{ kind: 'region', box: boxFractions(sample.box, sample.width, sample.height) }],
        lines: top5.map((c, k) => ({ text: `${k + 1}. ${name(c + from)}`, mark: c + from === sample.label })),
      };
    };
  },
};
