import { z } from 'zod';
import { imageSplitContent } from '../../datasets/content-hash.js';
import { DatasetPin } from '../../datasets/dataset-pin.js';
import { requireRecordedSizes } from '../../datasets/image-headers.js';
import { checkedRecSplit, checkRecDataset } from './check-rec.js';
import { demoRecGenerator } from './demo-set.js';
import { recBoxSamples, recExamples } from './rec-inspect.js';
import { reclipImporters } from './reclip-import.js';
import { MANIFEST_FILE, resolveImageRoot } from '../../datasets/dataset-info.js';
import type { RecSample } from './rec-manifest.js';
import { ACCURACY } from '../../report/metrics.js';
import { sampledSplit } from '../shared/sample-subset.js';
import { defineTask } from '../task-definition.js';
import { SUBTRACT_DEFAULTS, type SubtractSpec } from './negatives.js';
import {
  captionOf,
  evaluateRecSplit,
  PHOTO_TEMPLATE,
  splitBank,
  type RecSplitData,
  type RecOptions,
} from './rec-eval.js';

const subtractSchema = z.union([
  z.boolean(),
  z
    .object({
      count: z.number().int().positive().default(SUBTRACT_DEFAULTS.count).describe('negative captions per sentence'),
      from: z
        .enum(['split', 'other-images'])
        .default(SUBTRACT_DEFAULTS.from)
        .describe("any caption of the split (FGVP's code) or captions of other images only (the paper's text)"),
      seed: z
        .number()
        .int()
        .nonnegative()
        .default(SUBTRACT_DEFAULTS.seed)
        .describe('seed of the negatives, per sentence id'),
    })
    .strict(),
]);

const recRowOptions = z
  .object({
    setting: z
      .enum(['gold', 'prop'])
      .default('gold')
      .describe('candidate boxes: gold annotations or detector proposals'),
    subtract: subtractSchema
      .default(false)
      .describe('subtract the mean logit of negative captions (the paper\'s "P"): true, or an object'),
  })
  .strict()
  .transform((o): RecOptions => {
    const subtract: SubtractSpec | undefined =
      o.subtract === false ? undefined : o.subtract === true ? SUBTRACT_DEFAULTS : o.subtract;
    return { setting: o.setting, ...(subtract && { subtract }) };
  });

const reclipImport = (dataset: string) => (split: string) =>
  `falip data import ${dataset} --reclip-jsonl FILE --images DIR --split ${split}`;

function subtractFootnote(sub: SubtractSpec): string {
  const from =
    sub.from === 'split'
      ? "all captions of the split (as FGVP's code; may include the positive)"
      : "captions of other images of the split (as the paper's text)";
  return `Subtract (P): minus the mean logit of ${sub.count} negative captions per sentence drawn from ${from}, seeded (${sub.seed}) per sentence id.`;
}

/** Referring expression comprehension: pick the box a sentence refers to (paper Table 1 and the ablations). */
export const recTask = defineTask<RecOptions, RecSplitData>({
  name: 'rec',
  title: 'REC',
  sampleUnit: 'refs',
  recordUnit: 'sentences',
  datasets: {
    // Refs per split as the paper's Table 9 gives them.
    refcoco: {
      splits: ['testA', 'testB', 'val'],
      label: 'RefCOCO',
      importCommand: reclipImport('refcoco'),
      paperSamples: { testA: 1975, testB: 1810, val: 3811 },
    },
    'refcoco+': {
      splits: ['testA', 'testB', 'val'],
      label: 'RefCOCO+',
      importCommand: reclipImport('refcoco+'),
      paperSamples: { testA: 1975, testB: 1798, val: 3805 },
    },
    refcocog: {
      splits: ['test', 'val'],
      label: 'RefCOCOg',
      importCommand: reclipImport('refcocog'),
      paperSamples: { test: 5023, val: 2573 },
    },
    demo: {
      splits: ['val'],
      label: 'demo',
      footnotes: [
        "The demo set is synthetic and no paper measured it; on the shipped demo model (a small CLIP trained on such shapes) the accuracies show FALIP's mechanism, not CLIP's accuracy.",
      ],
      importCommand: () => 'falip data demo',
      generate: demoRecGenerator,
      // The first command a user runs shows the method against the baseline and the other visual prompts.
      defaultMethods: ['plain', 'falip', 'redcircle', 'crop', 'blur'],
    },
  },
  defaultMethods: ['falip'],
  rowOptions: recRowOptions,
  flags: [
    {
      flags: '--setting <setting>',
      help: 'candidate boxes: gold annotations or detector proposals',
      defaultValue: 'gold',
      choices: ['gold', 'prop'],
    },
    { flags: '--subtract', help: 'subtract the mean logit of negative captions (the paper\'s "P")' },
    {
      flags: '--negatives-from <source>',
      help: "where negatives come from: any caption of the split (FGVP's code) or other images only (the paper's text)",
      defaultValue: 'split',
      choices: ['split', 'other-images'],
    },
    { flags: '--negatives <n>', help: 'negative captions per sentence', defaultValue: '500' },
  ],
  rowOptionsFromFlags: (f) => ({
    setting: f.setting,
    subtract: f.subtract ? { count: Number(f.negatives), from: f.negativesFrom, seed: 0 } : false,
  }),
  describeOptions: (o) => ({
    key: `${o.setting}${o.subtract ? '-p' : ''}`,
    label: `${o.setting}${o.subtract ? ' (P)' : ''}`,
    title: `${o.setting} boxes${o.subtract ? ', subtract' : ''}`,
  }),
  importers: reclipImporters,
  check: checkRecDataset,
  boxSamples: recBoxSamples,
  examples: recExamples,
  paperSweepCurves: true,
  metrics: { accuracy: ACCURACY },
  defaultMetric: 'accuracy',
  evalMetrics: ['accuracy'],
  paperConfigs: ['table1.yaml'],
  async loadSplit(key, dir, _info, sampling) {
    const { parsed, pin } = await DatasetPin.load(
      dir,
      [MANIFEST_FILE],
      ({ texts, info }) => ({
        entries: checkedRecSplit(dir, texts[MANIFEST_FILE]!),
        imageRoot: resolveImageRoot(dir, info),
      }),
      imageSplitContent,
    );
    const { entries, imageRoot } = parsed;
    const all = entries.map((e) => e.sample);
    const lineOf = new Map(entries.map((e) => [e.sample.id, e.where]));
    // A ref's records are its sentences'.
    const split = sampledSplit(
      { key, dir, all, sampling, pin, itemIdsOf: (s: RecSample) => s.sentences.map((t) => t.id) },
      (samples) => ({ samples, imageRoot, lineOf, bank: splitBank(all) }),
    );
    await requireRecordedSizes(
      split.data.samples.map((s) => ({ ...s, where: lineOf.get(s.id)! })),
      imageRoot,
    );
    return split;
  },
  evaluate: evaluateRecSplit,
  // Sentences and subtraction's negatives are both captions of the split's bank.
  captions: async (rows, split) => [
    ...new Set(rows.flatMap((r) => r.methods.flatMap((m) => split.data.bank.map((c) => captionOf(m, c.text))))),
  ],
  footnotes(rows, splits) {
    const notes: string[] = [];
    const templates = new Set(rows.flatMap((r) => r.methods.map((m) => m.captionTemplate ?? PHOTO_TEMPLATE)));
    notes.push(
      `Captions: ${[...templates].map((t) => `"${t.replace('{}', '<expr>')}"`).join(', ')} (the expression lowercased); score 100·cos, argmax over the boxes (ties to the first), correct iff IoU > 0.5 with a target.`,
    );
    const sub = rows.find((r) => r.options.subtract)?.options.subtract;
    if (sub) {
      notes.push(subtractFootnote(sub));
      const small = splits.filter((c) => c.data.bank.length < sub.count);
      if (small.length > 0)
        notes.push(
          `Fewer captions than negatives asked for in ${small.map((c) => `${c.key} (${c.data.bank.length})`).join(', ')}: all of them are the negatives.`,
        );
    }
    if (rows.some((r) => r.methods.length > 1))
      notes.push("Ensembles (E) sum the methods' logits per box, ReCLIP-style, without weights.");
    return notes;
  },
});
