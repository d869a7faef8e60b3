import { CloudFileCache, type LabelledCloud } from './h5-clouds.js';
import { loadCloud, type PcClasses, type PcSample } from './pc-manifest.js';
import { TensorImage } from '../../encoder/image-input.js';
import type { BoxXYWH } from '../../image/box.js';
import { makeMethod, type Method } from '../../prompts/method.js';
import { UserError } from '../../util/errors.js';
import type { EvalRecord, IntermediateEntry } from '../../report/records.js';
import { sha256Hex } from '../../util/sha256.js';
import { classLogits, classRecord } from '../shared/class-scores.js';
import { forEachLimited } from '../shared/for-each-limited.js';
import { promptedClassifier, textClassifier } from '../shared/text-classifier.js';
import { ImageFeatures } from '../shared/image-features.js';
import type { EvalContext, LoadedSplit, RowPrompts, TaskRow } from '../task-definition.js';
import { CLIP_INPUT_SIZE, cloudViews, VIEW_INPUT_LENGTH, viewPlane } from './depth-views.js';
import { foregroundBox, foregroundTokens } from './foreground.js';
import { VIEW_COUNT } from './projection.js';
import { searchViewWeights, weightedScores, type ViewScores } from './view-weights.js';

/** A point-cloud row's own option: the view weights β, or `search` for PointCLIP's post-search. */
export interface PcOptions {
  view_weights: number[] | 'search';
}

export interface PcSplitData {
  samples: PcSample[];
  classes: PcClasses;
}

export type PcRow = TaskRow<PcOptions>;
export type PcSplit = LoadedSplit<PcSplitData>;

const CONCURRENCY = 2;

/** The six views of one cloud as encoder inputs, with the foreground each view's prompt marks. */
interface CloudInput {
  views: { features: ImageFeatures; box: BoxXYWH | null; tokens: Uint8Array }[];
}

function cloudInput(sample: PcSample, cloud: LabelledCloud, ctx: EvalContext, patch: number): CloudInput {
  const { clipInput } = cloudViews(cloud.points);
  const content = sha256Hex(new Uint8Array(cloud.points.buffer, cloud.points.byteOffset, cloud.points.byteLength));
  return {
    views: Array.from({ length: VIEW_COUNT }, (_, v) => {
      const tensor = clipInput.subarray(v * VIEW_INPUT_LENGTH, (v + 1) * VIEW_INPUT_LENGTH);
      const key = `${sample.source}#${sample.index}/view${v}`;
      const input = new TensorImage(key, tensor, CLIP_INPUT_SIZE, CLIP_INPUT_SIZE);
      const plane = viewPlane(clipInput, v);
      const disk = ctx.cache && { cache: ctx.cache, contentSha256: `${content}/view${v}` };
      return {
        features: new ImageFeatures(ctx.encoder, input, disk),
        box: foregroundBox(plane, CLIP_INPUT_SIZE),
        tokens: foregroundTokens(plane, CLIP_INPUT_SIZE, patch),
      };
    }),
  };
}

/**
 * Per view the method's class scores: the prompt marks the view's foreground box; a view with no
 * point gets no prompt (the plain feature), as an empty depth map has nothing to look at.
 */
async function viewScores(
  cloud: CloudInput,
  methods: readonly Method[],
  plain: Method,
  classifier: readonly Float32Array[],
  prompts: RowPrompts | undefined,
): Promise<Float64Array[]> {
  const vision = prompts?.vision;
  return Promise.all(
    cloud.views.map(async (view) => {
      const sum = new Float64Array(classifier.length);
      for (const method of methods) {
        const feature =
          view.box === null
            ? await view.features.get(plain, [0, 0, CLIP_INPUT_SIZE, CLIP_INPUT_SIZE], vision && { prompts: vision })
            : await view.features.get(method, view.box, {
                foregroundTokens: view.tokens,
                ...(vision && { prompts: vision }),
              });
        const logits = classLogits(feature, classifier);
        for (let c = 0; c < sum.length; c++) sum[c]! += logits[c]!;
      }
      return sum;
    }),
  );
}

function recordOf(
  row: PcRow,
  split: string,
  sample: PcSample,
  views: readonly Float64Array[],
  beta: readonly number[],
): EvalRecord {
  return {
    ...classRecord(row.key, split, sample.id, weightedScores(views, beta), sample.label),
    view_weights: [...beta],
  };
}

/** A cloud's per-view scores as the intermediate log keeps them (JSON numbers round-trip float64 exactly). */
function viewScoresOf(entry: IntermediateEntry, path: string, classCount: number): Float64Array[] {
  const data = entry.data;
  if (
    !Array.isArray(data) ||
    data.length !== VIEW_COUNT ||
    data.some((v) => !Array.isArray(v) || v.length !== classCount || v.some((x) => typeof x !== 'number'))
  )
    throw new UserError(
      `${path}: cloud ${entry.id} of row ${entry.row}: not ${VIEW_COUNT} views of ${classCount} scores; use another --out`,
    );
  return (data as number[][]).map((v) => Float64Array.from(v));
}

/**
 * Classifies every cloud of a split under every row: the cloud is read and projected once, each
 * view's feature per method computed once for all rows. Rows with fixed β append a record per cloud as
 * it is done (resume skips recorded clouds). A `search` row needs every cloud's view scores before it
 * can choose β: each cloud's scores go to the intermediate log as they come (a killed run loses none
 * and resumes from them), and its records are written at the end of the split.
 */
export async function evaluatePcSplit(rows: readonly PcRow[], split: PcSplit, ctx: EvalContext): Promise<void> {
  const { samples, classes } = split.data;
  const editing = rows.flatMap((r) => r.methods.filter((m) => m.editsPixels).map((m) => m.name));
  if (editing.length > 0) {
    const names = [...new Set(editing)];
    throw new UserError(
      `${split.key}: ${names.join(', ')} ${names.length === 1 ? 'edits' : 'edit'} pixels, and a depth map is not a photo: only prompts that leave the pixels alone (plain, falip, pasta, feature-mask) apply to point clouds`,
    );
  }
  const plain = makeMethod('plain', {}, ctx.encoder.config.vision, split.key);
  // The class texts: PointCLIP's template, or a row's learned prompts.
  const classifiers = new Map<string, Float32Array[]>();
  for (const row of rows) {
    const prompts = row.prompts?.text;
    const key = prompts?.key ?? '';
    if (!classifiers.has(key))
      classifiers.set(
        key,
        prompts
          ? await promptedClassifier(ctx.texts, classes.names, prompts, split.key)
          : await textClassifier(ctx.texts, classes.names, [classes.template]),
      );
  }
  const files = new CloudFileCache();
  const patch = ctx.encoder.config.vision.patchSize;
  const searchRows = rows.filter(
    (r) => r.options.view_weights === 'search' && samples.some((s) => !ctx.records.has(r.key, split.key, s.id)),
  );
  const searching = new Set(searchRows.map((r) => r.key));
  try {
    await forEachLimited(samples, CONCURRENCY, async (sample) => {
      const todo = rows.filter((r) =>
        searching.has(r.key)
          ? !ctx.intermediate.has(r.key, split.key, sample.id)
          : !ctx.records.has(r.key, split.key, sample.id),
      );
      if (todo.length === 0) return;
      const cloud = cloudInput(sample, await loadCloud(files, sample, classes.names.length), ctx, patch);
      for (const row of todo) {
        const classifier = classifiers.get(row.prompts?.text.key ?? '')!;
        const views = await viewScores(cloud, row.methods, plain, classifier, row.prompts);
        if (row.options.view_weights === 'search') {
          const data = views.map((v) => Array.from(v));
          await ctx.intermediate.append({ row: row.key, split: split.key, id: sample.id, data });
        } else {
          await ctx.records.append(recordOf(row, split.key, sample, views, row.options.view_weights));
        }
      }
    });
  } finally {
    await files.closeAll();
  }
  for (const row of searchRows) {
    // In manifest order, whatever order the clouds finished in: the search and the log are deterministic.
    const clouds = samples.map((sample) => {
      const entry = ctx.intermediate.get(row.key, split.key, sample.id)!;
      return { sample, views: viewScoresOf(entry, ctx.intermediate.path, classes.names.length) };
    });
    const scores: ViewScores[] = clouds.map((c) => ({ views: c.views, label: c.sample.label }));
    const { beta } = searchViewWeights(scores, VIEW_COUNT);
    for (const { sample, views } of clouds) {
      if (ctx.records.has(row.key, split.key, sample.id)) continue;
      await ctx.records.append(recordOf(row, split.key, sample, views, beta));
    }
  }
}
