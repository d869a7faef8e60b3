import path from 'node:path';
import { z } from 'zod';
import { datasetContentHash } from '../../datasets/content-hash.js';
import { CLASSES_FILE, MANIFEST_FILE } from '../../datasets/dataset-info.js';

import { UserError } from '../../util/errors.js';
import { CLASS_METRICS } from '../shared/class-scores.js';
import { DatasetPin } from '../../datasets/dataset-pin.js';
import { memoizedSha256 } from '../../util/file-hash-memo.js';
import { sha256Hex } from '../../util/sha256.js';
import { checkedPcSplit, checkPcDataset } from './check-pc.js';
import { demoPcGenerator } from './demo-pc.js';
import { MODELNET40_PAPER_CLOUDS, modelnet40Importer } from './importers/modelnet40-import.js';
import { SCANOBJECTNN_PAPER_CLOUDS, scanobjectnnImporter } from './importers/scanobjectnn-import.js';
import { sampledSplit } from '../shared/sample-subset.js';
import { learnedPromptText } from '../shared/text-classifier.js';
import { defineTask } from '../task-definition.js';
import { evaluatePcSplit, type PcSplitData, type PcOptions } from './pc-eval.js';
import { VIEW_COUNT } from './projection.js';
import { SEARCH_VALUES } from './view-weights.js';

const pcRowOptions = z
  .object({
    view_weights: z
      .union([
        z.literal('search'),
        z.array(z.number().finite().nonnegative()).length(VIEW_COUNT, `expected ${VIEW_COUNT} view weights`),
      ])
      .default(Array<number>(VIEW_COUNT).fill(1))
      .describe(
        `the six view weights β, or "search": PointCLIP's post-search over {${SEARCH_VALUES.join(', ')}}^6 on the evaluated split itself`,
      ),
  })
  .strict()
  .transform((o) => o as PcOptions);

/** `--view-weights 1,1,0.5,1,1,1` or `search`. */
function viewWeightsFromFlag(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  if (text.trim() === 'search') return 'search';
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isFinite(v)))
    throw new UserError(`--view-weights ${text}: expected ${VIEW_COUNT} comma-separated numbers, or search`);
  return values;
}

/**
 * Where the sha256 of a dataset's h5 file is remembered: beside the dataset's splits, in a folder no
 * listing takes for a split, one memo per file.
 */
function h5HashMemo(dir: string, h5: string): string {
  return path.join(path.dirname(dir), '.h5-hashes', `${sha256Hex(h5).slice(0, 16)}.json`);
}

const isDefaultBeta = (b: PcOptions['view_weights']) => b !== 'search' && b.every((x) => x === 1);

/** 3D recognition from PointCLIP's six depth views (paper Table 3). */
export const pointcloudTask = defineTask<PcOptions, PcSplitData>({
  name: 'pointcloud',
  title: '3D point clouds',
  sampleUnit: 'clouds',
  recordUnit: 'clouds',
  datasets: {
    modelnet40: {
      splits: ['test'],
      label: 'ModelNet40',
      importCommand: () => 'falip data import modelnet40 --root modelnet40_ply_hdf5_2048',
      paperSamples: { test: MODELNET40_PAPER_CLOUDS },
    },
    scanobjectnn: {
      splits: ['test'],
      label: 'ScanObjectNN',
      importCommand: () => 'falip data import scanobjectnn --h5 main_split/test_objectdataset.h5 --first 576',
      paperSamples: { test: SCANOBJECTNN_PAPER_CLOUDS },
    },
    'demo-pc': {
      splits: ['test'],
      label: 'demo-pc',
      footnotes: [
        'The demo-pc set is synthetic (spheres, cubes, cylinders, cones and tori as point clouds): its numbers show the 3D pipeline at work, not CLIP on ModelNet40.',
        "The shipped demo model never saw a depth map nor these shapes' names (their words' embedding rows are zero): on it every class scores alike and the accuracy is chance, 1 in 5.",
      ],
      importCommand: () => 'falip data demo-pc',
      generate: demoPcGenerator,
      defaultMethods: ['plain', 'falip'],
    },
  },
  defaultMethods: ['falip'],
  rowOptions: pcRowOptions,
  flags: [
    {
      flags: '--view-weights <b1,...,b6|search>',
      help: `the six view weights β (default all 1), or search: PointCLIP's post-search over {${SEARCH_VALUES.join(', ')}}^6, tuned on the evaluated split itself`,
    },
  ],
  rowOptionsFromFlags: (f) => (f.viewWeights === undefined ? {} : { view_weights: viewWeightsFromFlag(f.viewWeights) }),
  describeOptions: (o) =>
    isDefaultBeta(o.view_weights)
      ? { key: '', label: '', title: 'six views, β = 1' }
      : o.view_weights === 'search'
        ? { key: 'beta-search', label: '(β searched on test)', title: 'β searched on the test split' }
        : {
            key: `beta-${o.view_weights.join('-')}`,
            label: `(β ${o.view_weights.join(',')})`,
            title: `β ${o.view_weights.join(', ')}`,
          },
  importers: [modelnet40Importer, scanobjectnnImporter],
  check: checkPcDataset,
  metrics: { top1: CLASS_METRICS.top1, top1_class_mean: CLASS_METRICS.top1_class_mean },
  defaultMetric: 'top1',
  evalMetrics: ['top1'],
  paperConfigs: ['table3-pointcloud.yaml'],
  learnedPrompts: true,
  async loadSplit(key, dir, _info, sampling) {
    const { parsed, pin } = await DatasetPin.load(
      dir,
      [MANIFEST_FILE, CLASSES_FILE],
      ({ texts }) => checkedPcSplit(dir, { manifest: texts[MANIFEST_FILE]!, classes: texts[CLASSES_FILE]! }),
      async ({ read }, { entries }) => {
        // The clouds live in the release's h5 files, read in place: their bytes are part of the content
        // (a file replaced by another of the same size and labels must not resume old records).
        const sources = [...new Set(entries.map((e) => e.sample.source))].sort();
        const hashes = await Promise.all(sources.map((f) => memoizedSha256(f, h5HashMemo(dir, f))));
        const parts = sources.map((f, i) => `h5\0${f}\0${hashes[i]}`);
        return { hash: await datasetContentHash(read, dir, [], parts), watch: sources };
      },
    );
    const { entries, classes } = parsed;
    return sampledSplit({ key, dir, all: entries.map((e) => e.sample), sampling, pin }, (samples) => ({
      samples,
      classes,
    }));
  },
  evaluate: evaluatePcSplit,
  captions: async (rows, split) => {
    const { names, template } = split.data.classes;
    const contexts = [...new Set(rows.flatMap((r) => (r.prompts ? [r.prompts.text.tokens] : [])))];
    return [
      ...names.map((n) => template.replace('{}', n)),
      ...contexts.flatMap((n) => names.map((name) => learnedPromptText(n, name))),
    ];
  },
  footnotes(rows, splits) {
    const notes = [
      "PointCLIP V1's zero-shot pipeline: the first 1,024 points, six perspective depth views (128×128, camera at 1.6, harmonic-mean depth, empty = 0), bilinear 128→224 (align corners), no mean/std; per view 100·cos with each class's text, summed over the views with weights β.",
      `Prompt "${splits[0]?.data.classes.template ?? 'point cloud depth map of a {}.'}" (PointCLIP's; underscores in class names become spaces). The prompt's box is each view's foreground (pixels > 0); a view with no point gets no prompt.`,
    ];
    if (rows.some((r) => r.options.view_weights === 'search'))
      notes.push(
        `Rows marked "β searched on test" choose β from {${SEARCH_VALUES.join(', ')}}^6 by accuracy on the evaluated split itself (PointCLIP's post-search): tuned on the test data, an optimistic number; β is in each record.`,
      );
    return notes;
  },
});
