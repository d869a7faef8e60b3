import path from 'node:path';
import type { ClsSample } from './cls-manifest.js';
import type { ClsSplit } from './cls-split.js';
import type { EvalRecord } from '../../report/records.js';
import { forEachLimited } from '../shared/for-each-limited.js';
import { ImageFeatures } from '../shared/image-features.js';
import type { EvalContext, TaskRow } from '../task-definition.js';
import { classLogits, classRecord } from '../shared/class-scores.js';
import { promptedClassifier, templatesOf, textClassifier, type TemplateSet } from '../shared/text-classifier.js';

/** A classification row's own option: which captions make the text classifier. */
export interface ClsOptions {
  templates: TemplateSet;
}

export type ClsRow = TaskRow<ClsOptions>;

/** Images decoded and encoded at the same time; enough to keep the encoder's batches full. */
const CONCURRENCY = 4;

/**
 * Classifies every image of a split under every row: the image is decoded (and, for the
 * prompt-learning datasets, centre-cropped) once for all rows, each
 * method's feature of (image, box) is computed once, and the rows' scores are the sum of their methods'
 * 100·cos with each class's text embedding (one method = no ensemble). Images already recorded for a row
 * are skipped (resume); each image's records are appended as soon as it is done.
 */
export async function evaluateClsSplit(rows: readonly ClsRow[], split: ClsSplit, ctx: EvalContext): Promise<void> {
  const { samples, classes, imageRoot, view, lineOf, recorded } = split.data;
  const classifiers = new Map<string, Promise<Float32Array[]>>();
  // A row's class texts: its learned prompts', else its templates'.
  const classifierOf = (row: ClsRow): Promise<Float32Array[]> => {
    const prompts = row.prompts?.text;
    const key = prompts ? `prompts|${prompts.key}` : row.options.templates;
    let c = classifiers.get(key);
    if (!c) {
      c = prompts
        ? promptedClassifier(ctx.texts, classes.names, prompts, split.key)
        : templatesOf(row.options.templates, classes.template).then((t) => textClassifier(ctx.texts, classes.names, t));
      classifiers.set(key, c);
    }
    return c;
  };
  await forEachLimited(samples, CONCURRENCY, async (sample) => {
    const todo = rows.filter((row) => !ctx.records.has(row.key, split.key, sample.id));
    if (todo.length === 0) return;
    const file = path.resolve(imageRoot, sample.image);
    // The size the manifest records (a centre crop's boxes are in the crop, its samples S×S).
    const size = recorded.get(sample.id) ?? sample;
    const features = await ImageFeatures.forFile(
      ctx.encoder,
      file,
      ctx.cache,
      { width: size.width, height: size.height, where: lineOf.get(sample.id)! },
      view.preprocess,
    );
    const records = await Promise.all(
      todo.map(async (row) => recordOf(row, sample, split.key, features, await classifierOf(row))),
    );
    for (const r of records) {
      await ctx.records.append(r);
    }
  });
}

async function recordOf(
  row: ClsRow,
  sample: ClsSample,
  split: string,
  features: ImageFeatures,
  classifier: readonly Float32Array[],
): Promise<EvalRecord> {
  const scores = new Float64Array(classifier.length);
  const prompts = row.prompts?.vision;
  for (const method of row.methods) {
    const logits = classLogits(await features.get(method, sample.box, prompts && { prompts }), classifier);
    for (let c = 0; c < scores.length; c++) scores[c]! += logits[c]!;
  }
  const record = classRecord(row.key, split, sample.id, scores, sample.label);
  return {
    ...record,
    top5_scores: record.top5.map((c) => Math.round(scores[c]! * 1e4) / 1e4),
    ...(sample.group && { group: sample.group }),
  };
}
