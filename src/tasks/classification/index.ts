import path from 'node:path';
import { z } from 'zod';
import { readClasses, readClsManifest } from './cls-manifest.js';
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
import { datasetContentHash } from '../../datasets/content-hash.js';
import { CLASSES_FILE, MANIFEST_FILE, resolveImageRoot } from '../../datasets/dataset-info.js';
import { sampledSplit } from '../shared/sample-subset.js';
import { defineTask } from '../task-definition.js';
import { evaluateClsSplit, type ClsSplitData, type ClsOptions } from './cls-eval.js';
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

/** Zero-shot classification of an image whose object is marked by a box (paper Tables 2, 13, 14). */
export const classificationTask = defineTask<ClsOptions, ClsSplitData>({
  name: 'classification',
  title: 'classification',
  sampleUnit: 'images',
  recordUnit: 'images',
  datasets: {
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
        },
      ]),
    ),
    imagenet: {
      splits: ['val'],
      label: 'ImageNet',
      importCommand: (split) =>
        `falip data import imagenet --root imagenet${split === 'val' ? '' : ` --split ${split}`}`,
    },
    'demo-cls': {
      splits: ['val'],
      label: 'demo-cls',
      footnotes: [
        "The demo-cls set is synthetic (coloured shapes named by colour and kind) and no paper measured it; on the shipped demo model (a small CLIP trained on such shapes) the accuracies show FALIP's mechanism, not CLIP's accuracy.",
      ],
      importCommand: () => 'falip data demo-cls',
      generate: demoClsGenerator,
      defaultMethods: ['plain', 'falip', 'redcircle', 'crop', 'blur'],
    },
  },
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
  boxSamples: clsBoxSamples,
  examples: clsExamples,
  metrics: CLS_METRICS,
  defaultMetric: 'top1',
  evalMetrics: ['top1', 'top5'],
  paperConfigs: ['table2-classification.yaml', 'table13-classification-vitl14.yaml', 'table14-redcircle-enlarge.yaml'],
  learnedPrompts: true,
  async loadSplit(key, dir, info, sampling) {
    const manifest = path.join(dir, MANIFEST_FILE);
    const [all, classes] = await Promise.all([readClsManifest(manifest), readClasses(dir)]);
    const imageRoot = resolveImageRoot(dir, info);
    const contentHash = await datasetContentHash(
      [manifest, path.join(dir, CLASSES_FILE)],
      imageRoot,
      all.map((s) => s.image),
    );
    return sampledSplit({ key, dir, all, sampling, contentHash }, (samples) => ({ samples, classes, imageRoot }));
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
