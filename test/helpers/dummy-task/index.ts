import path from 'node:path';
import pLimit from 'p-limit';
import { z } from 'zod';
import { checkImages } from '../../../src/datasets/check-images.js';
import { checkManifestLines, throwFirstError } from '../../../src/datasets/check-report.js';
import { datasetContentHash } from '../../../src/datasets/content-hash.js';
import { DatasetPin } from '../../../src/datasets/dataset-pin.js';
import { MANIFEST_FILE, readDatasetInfo, resolveImageRoot } from '../../../src/datasets/dataset-info.js';
import { CLASS_METRICS, classLogits, classRecord } from '../../../src/tasks/shared/class-scores.js';
import { ImageFeatures } from '../../../src/tasks/shared/image-features.js';
import { sampledSplit } from '../../../src/tasks/shared/sample-subset.js';
import { textClassifier } from '../../../src/tasks/shared/text-classifier.js';
import { defineTask } from '../../../src/tasks/task-definition.js';
import { swatchImporter } from './swatch-import.js';
import { nonBlankLines, readNonBlankLines } from '../../../src/util/text-file.js';
import { COLOURS, parseSwatch, type Swatch } from './swatch-manifest.js';

/**
 * A task written the way a contributor adds one: this folder and one line in src/tasks/task-list.ts
 * (here added by the test's mock of that module). Whole-image colour naming: the box is the whole image.
 */
const TEMPLATE = 'a photo of the colour {}.';

/** Every line through the schema, unique ids and a label that is a colour (`check` lists all, eval stops at the first). */
function checkSwatches(lines: Parameters<typeof checkManifestLines>[0], errors: string[]) {
  return checkManifestLines(lines, parseSwatch, 'image', errors, (e) => {
    if (e.sample.label >= COLOURS.length) errors.push(`${e.where}: label: ${e.sample.label} is not a colour`);
  });
}

export const swatchTask = defineTask<Record<string, never>, { samples: Swatch[]; imageRoot: string }>({
  name: 'swatch-colours',
  title: 'colour naming',
  sampleUnit: 'images',
  recordUnit: 'images',
  datasets: {
    swatches: { splits: ['all'], label: 'Swatches', importCommand: () => 'falip data import swatches --root DIR' },
  },
  defaultMethods: ['plain'],
  rowOptions: z.object({}).strict(),
  flags: [],
  rowOptionsFromFlags: () => ({}),
  describeOptions: () => ({ key: '', label: '', title: 'whole images' }),
  importers: [swatchImporter],
  async check(dir) {
    const errors: string[] = [];
    const entries = checkSwatches(await readNonBlankLines(path.join(dir, MANIFEST_FILE)), errors);
    errors.push(...(await checkImages(entries, resolveImageRoot(dir, await readDatasetInfo(dir)))));
    return { ok: errors.length === 0, errors, warnings: [], counts: { images: entries.length } };
  },
  metrics: { top1: CLASS_METRICS.top1 },
  defaultMetric: 'top1',
  evalMetrics: ['top1'],
  paperConfigs: [],
  async loadSplit(key, dir, _info, sampling) {
    // The same checks as `check`, the first problem thrown; the hash is of the bytes parsed.
    const { parsed, pin } = await DatasetPin.load(
      dir,
      [MANIFEST_FILE],
      ({ texts, info }) => {
        const errors: string[] = [];
        const entries = checkSwatches(nonBlankLines(texts[MANIFEST_FILE]!, path.join(dir, MANIFEST_FILE)), errors);
        throwFirstError(errors);
        return { all: entries.map((e) => e.sample), imageRoot: resolveImageRoot(dir, info) };
      },
      async ({ read }, { all, imageRoot }) => ({
        hash: await datasetContentHash(
          read,
          imageRoot,
          all.map((s) => s.image),
        ),
      }),
    );
    const { all, imageRoot } = parsed;
    return sampledSplit({ key, dir, all, sampling, pin }, (samples) => ({ samples, imageRoot }));
  },
  async evaluate(rows, split, ctx) {
    const classifier = await textClassifier(ctx.texts, COLOURS, [TEMPLATE]);
    const limit = pLimit(2);
    await Promise.all(
      split.data.samples.map((s) =>
        limit(async () => {
          const features = await ImageFeatures.forFile(ctx.encoder, path.resolve(split.data.imageRoot, s.image));
          for (const row of rows) {
            if (ctx.records.has(row.key, split.key, s.id)) continue;
            const scores = new Float64Array(COLOURS.length);
            for (const method of row.methods) {
              const logits = classLogits(await features.get(method, [0, 0, s.width, s.height]), classifier);
              logits.forEach((l, c) => {
                scores[c]! += l;
              });
            }
            await ctx.records.append(classRecord(row.key, split.key, s.id, scores, s.label));
          }
        }),
      ),
    );
  },
  captions: async () => COLOURS.map((c) => TEMPLATE.replace('{}', c)),
  footnotes: () => [`Colour naming: "${TEMPLATE}" per colour; the box is the whole image.`],
});
