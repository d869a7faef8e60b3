import { z } from 'zod';
import { checkClsDataset } from './check-cls.js';
import { clsBoxSamples, clsExamples } from './cls-inspect.js';
import { demoClsGenerator } from './demo-cls.js';
import { COOP_DATASETS } from './importers/coop-datasets.js';
import { coopImporter } from './importers/coop-import.js';
import { cubImporter } from './importers/cub-import.js';
import { imageNetImporter } from './importers/imagenet-import.js';
import { imageNetSImporter } from './importers/imagenet-s-import.js';
import { stanfordDogsImporter } from './importers/stanforddogs-import.js';
import { PAPER_TABLE8 } from './importers/paper-counts.js';
import { waterbirdsImporter } from './importers/waterbirds-import.js';
import { defineTask, type TaskDataset } from '../task-definition.js';
import { evaluateClsSplit, type ClsOptions } from './cls-eval.js';
import { loadClsSplit, type ClsSplit, type ClsSplitData } from './cls-split.js';
import { CLS_METRICS, WATERBIRDS_METRICS } from './cls-metrics.js';
import { learnedPromptText, TEMPLATE_SETS, templatesOf } from '../shared/text-classifier.js';

const clsRowOptions = z
  .object({
    templates: z
      .enum(TEMPLATE_SETS as [string, ...string[]])
      .default('single')
      .describe("captions per class: the dataset's own template, or CLIP's 80 ImageNet templates averaged"),
  })
  .strict()
  .transform((o) => o as ClsOptions);

const importCommand = (how: string) => () => `falip data import ${how}`;

/** The datasets the classification task knows by name. */
const CLS_DATASETS: Record<string, TaskDataset> = {
  stanforddogs: {
    splits: ['all'],
    label: 'StanfordDogs',
    importCommand: importCommand('stanforddogs --root DIR'),
    paperSamples: { all: PAPER_TABLE8.stanforddogs.images },
  },
  cub: {
    splits: ['all'],
    label: 'CUB-200-2011',
    importCommand: importCommand('cub --root CUB_200_2011'),
    paperSamples: { all: PAPER_TABLE8.cub.images },
  },
  'imagenet-s': {
    splits: ['val'],
    label: 'ImageNet-S',
    importCommand: importCommand('imagenet-s --root ImageNetS919'),
    paperSamples: { val: PAPER_TABLE8['imagenet-s'].images },
  },
  waterbirds: {
    splits: ['test'],
    label: 'Waterbirds',
    importCommand: importCommand('waterbirds --root DIR --cub-root CUB_200_2011'),
    evalMetrics: WATERBIRDS_METRICS,
    paperSamples: { test: PAPER_TABLE8.waterbirds.images },
  },
  // The prompt-learning benchmark (CoOp's datasets; its papers evaluate on the test split, ImageNet's val).
  ...Object.fromEntries(
    COOP_DATASETS.map((d) => [
      d.name,
      {
        splits: ['test'],
        label: d.label,
        importCommand: (split: string) =>
          `falip data import coop --dataset ${d.name} --root ${d.folder}${split === 'test' ? '' : ` --split ${split}`}`,
        preprocess: 'center-crop' as const,
      },
    ]),
  ),
  imagenet: {
    splits: ['val'],
    label: 'ImageNet',
    importCommand: (split) => `falip data import imagenet --root imagenet${split === 'val' ? '' : ` --split ${split}`}`,
    preprocess: 'center-crop',
  },
  'demo-cls': {
    splits: ['val'],
    label: 'demo-cls',
    footnotes: [
      "The demo-cls set is synthetic (coloured shapes named by colour and kind) and no paper measured it; on the shipped demo model (a small CLIP trained on such shapes) the accuracies show FALIP's mechanism, not CLIP's accuracy.",
      "Classification gives FALIP's nudge no exact tie to break, as REC's boxes (which share one plain embedding) do: on the demo model FALIP at the paper's α 0.2 changes few answers here, and a larger α (e.g. --alpha 10) shows its effect (README: The demo model).",
    ],
    importCommand: () => 'falip data demo-cls',
    generate: demoClsGenerator,
    defaultMethods: ['plain', 'falip', 'redcircle', 'crop', 'blur'],
  },
};

/** Zero-shot classification of an image whose object is marked by a box (paper Tables 2, 13, 14). */
export const classificationTask = defineTask<ClsOptions, ClsSplitData>({
  name: 'classification',
  title: 'classification',
  sampleUnit: 'images',
  recordUnit: 'images',
  datasets: CLS_DATASETS,
  defaultMethods: ['falip'],
  rowOptions: clsRowOptions,
  flags: [
    {
      flags: '--templates <set>',
      help: "captions per class: the dataset's own template, or CLIP's 80 ImageNet templates averaged",
      defaultValue: 'single',
      choices: TEMPLATE_SETS,
    },
  ],
  rowOptionsFromFlags: (f) => ({ templates: f.templates }),
  describeOptions: (o) => ({
    key: o.templates === 'single' ? '' : o.templates,
    label: o.templates === 'single' ? '' : `(${o.templates})`,
    title: o.templates === 'single' ? "the dataset's template" : "CLIP's 80 templates",
  }),
  importers: [cubImporter, stanfordDogsImporter, imageNetSImporter, waterbirdsImporter, coopImporter, imageNetImporter],
  check: checkClsDataset,
  boxSamples: clsBoxSamples((dataset) => CLS_DATASETS[dataset]?.preprocess ?? 'squash'),
  examples: clsExamples,
  metrics: CLS_METRICS,
  defaultMetric: 'top1',
  evalMetrics: ['top1', 'top5'],
  paperConfigs: [
    'table2-classification.yaml',
    'table13-classification-vitl14.yaml',
    'table14-redcircle-enlarge.yaml',
    'base-to-new.yaml',
  ],
  learnedPrompts: true,
  classSubsets: true,
  loadSplit(key, dir, _info, sampling, view) {
    const dataset = key.split('/')[0]!;
    return loadClsSplit(key, dir, sampling, view, CLS_DATASETS[dataset]?.preprocess ?? 'squash');
  },
  evaluate: evaluateClsSplit,
  async captions(rows, split) {
    const { names, template } = split.data.classes;
    const sets = [...new Set(rows.filter((r) => !r.prompts).map((r) => r.options.templates))];
    const templates = (await Promise.all(sets.map((s) => templatesOf(s, template)))).flat();
    const contexts = [...new Set(rows.flatMap((r) => (r.prompts ? [r.prompts.text.tokens] : [])))];
    return [
      ...names.flatMap((n) => templates.map((t) => t.replace('{}', n))),
      ...contexts.flatMap((n) => names.map((name) => learnedPromptText(n, name))),
    ];
  },
  footnotes(rows, splits) {
    const notes: string[] = [];
    for (const c of splits) {
      const { classes } = c.data;
      notes.push(
        `${c.key}: ${classes.names.length} classes, names ${classes.names_source}; template "${classes.template}" (${classes.template_source}).`,
      );
    }
    notes.push(...viewNotes(splits));
    if (rows.some((r) => !r.prompts && r.options.templates === 'imagenet-80'))
      notes.push(
        "Rows marked imagenet-80 average the normalized text embeddings of CLIP's 80 ImageNet templates per class (CLIP's prompt ensemble).",
      );
    notes.push(
      'Score per class 100·cos(image, class text); Top-1/Top-5 over images (micro); the paper does not say whether its Top-1 is per image or per class: mean-per-class columns are available as metrics top1_class_mean/top5_class_mean.',
    );
    if (rows.some((r) => r.methods.length > 1)) notes.push("Ensembles sum the methods' class logits, without weights.");
    return notes;
  },
});

/** What the footnotes say of base-to-new halves and of centre-cropped images. */
function viewNotes(splits: readonly ClsSplit[]): string[] {
  const notes: string[] = [];
  const halves = splits.filter((c) => c.data.classRange.to - c.data.classRange.from < c.data.classRange.of);
  if (halves.length > 0)
    notes.push(
      `Base-to-new (CoCoOp's protocol, Dassl's subsample_classes): the labels sorted, base = the first ⌈n/2⌉ classes, new = the rest; each half is relabelled 0..k−1 and its test images are classified among its own classes only: ${halves
        .map((c) => `${c.key} labels ${c.data.classRange.from}..${c.data.classRange.to - 1} of ${c.data.classRange.of}`)
        .join(', ')}.`,
    );
  const cropped = splits.filter((c) => c.data.view.preprocess === 'center-crop');
  if (cropped.length > 0) {
    const size = cropped[0]!.data.view.size;
    const boxes = cropped
      .filter((c) => c.data.view.clipped + c.data.view.outside > 0)
      .map((c) => `${c.key}: ${c.data.view.clipped} clipped, ${c.data.view.outside} wholly outside`);
    notes.push(
      `${cropped.map((c) => c.key).join(', ')}: the prompt-learning papers' test transform: the shorter side resized to ${size} (Pillow's bicubic, byte for byte) and the centre ${size}×${size} kept, then CLIP's mean/std; a box follows the crop, clipped to it where the crop cuts part of it away; a box wholly outside the crop leaves the prompt no region, so it gets the whole crop (as an image without foreground gets the whole image)${boxes.length > 0 ? ` (${boxes.join('; ')})` : ''}. Other datasets are squashed whole to ${size}×${size}, as the FALIP reference does.`,
    );
  }
  return notes;
}
