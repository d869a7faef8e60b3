import path from 'node:path';
import { MANIFEST_FILE, resolveImageRoot } from '../../datasets/dataset-info.js';
import { boxFractions, type BoxXYWH } from '../../image/box.js';
import type { ExampleBox } from '../../report/html-report-model.js';
import { seededSubset } from '../shared/sample-subset.js';
import type { BoxSamples, ExampleHooks, TaskDefinition } from '../task-definition.js';
import type { RecOptions } from './rec-eval.js';
import { readRecManifest, type RecSample, targetsOf } from './rec-manifest.js';

/**
 * How falip's inspection tools see a REC split: `analyze heads` prompts each sampled ref's target boxes,
 * the report draws each sentence's card.
 */

/** Each target of each ref of the seeded subset (a ref with several targets: `<id>#<k>`). */
export const recBoxSamples: NonNullable<TaskDefinition['boxSamples']> = async (dir, info, sampling) => {
  const all = await readRecManifest(path.join(dir, MANIFEST_FILE));
  const root = resolveImageRoot(dir, info);
  const refs = seededSubset(all, sampling.limit, sampling.seed);
  const samples = refs.flatMap((ref) => {
    const targets = targetsOf(ref);
    return targets.map((t, k) => ({
      id: targets.length > 1 ? `${ref.id}#${k}` : ref.id,
      image: path.resolve(root, ref.image),
      width: ref.width,
      height: ref.height,
      box: t.box,
    }));
  });
  return { samples, counts: { total: all.length, used: refs.length } } satisfies BoxSamples;
};

/** A sentence's card: its image, the candidates of the row's setting, the targets and the predicted box. */
export const recExamples: ExampleHooks<RecOptions> = {
  legend: [
    { kind: 'target', text: 'referred object (gold target)' },
    { kind: 'pred', text: 'predicted box' },
    { kind: 'candidate', text: 'other candidate boxes' },
  ],
  async cards(dir) {
    const bySentence = new Map<string, { sample: RecSample; text: string }>();
    for (const sample of await readRecManifest(path.join(dir, MANIFEST_FILE)))
      for (const s of sample.sentences) bySentence.set(s.id, { sample, text: s.text });
    return (record, options) => {
      const setting = options?.setting ?? 'gold';
      const found = bySentence.get(record.id);
      if (!found) return null;
      const { sample, text } = found;
      const candidates = setting === 'prop' ? (sample.proposals ?? []) : sample.gold.map((g) => g.box);
      const pred = candidates[record.pred];
      const f = (b: BoxXYWH) => boxFractions(b, sample.width, sample.height);
      const boxes: ExampleBox[] = [
        ...candidates.filter((_, i) => i !== record.pred).map((b) => ({ kind: 'candidate' as const, box: f(b) })),
        ...targetsOf(sample).map((g) => ({ kind: 'target' as const, box: f(g.box) })),
        ...(pred ? [{ kind: 'pred' as const, box: f(pred) }] : []),
      ];
      const score = record.scores?.[record.pred];
      return {
        image: sample.image,
        caption: text,
        boxes,
        lines: [
          {
            text: `predicted ${setting} box ${record.pred + 1} of ${candidates.length}${typeof score === 'number' ? ` (score ${score.toFixed(2)})` : ''}`,
          },
        ],
      };
    };
  },
};
