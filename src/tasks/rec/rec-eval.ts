import path from 'node:path';
import { targetsOf, type RecSample } from './rec-manifest.js';
import type { BoxXYWH } from '../../image/box.js';
import type { Method } from '../../prompts/method.js';
import type { EvalRecord } from '../../report/records.js';
import { UserError } from '../../util/errors.js';
import { forEachLimited } from '../shared/for-each-limited.js';
import { ImageFeatures } from '../shared/image-features.js';
import type { EvalContext, LoadedSplit, TaskRow } from '../task-definition.js';
import { sampleNegatives, type BankCaption, type SubtractSpec } from './negatives.js';
import { argmax } from '../shared/scores.js';
import { boxLogit, candidateIndices, isCorrect } from './rec-scoring.js';

export type RecSetting = 'gold' | 'prop';

/** A REC row's own options: which boxes compete, and the paper's "P". */
export interface RecOptions {
  setting: RecSetting;
  subtract?: SubtractSpec;
}

/** One split's refs (possibly a seeded subset) with what scoring them needs. */
export interface RecSplitData {
  samples: RecSample[];
  imageRoot: string;
  /** Each ref's manifest line (`file:line`), by ref id. */
  lineOf: ReadonlyMap<string, string>;
  /** Every caption of the split (the whole split even under --limit), for subtraction. */
  bank: BankCaption[];
}

export type RecRow = TaskRow<RecOptions>;
export type RecSplit = LoadedSplit<RecSplitData>;

/** Images decoded and encoded at the same time; enough to keep the encoder's batches full. */
const CONCURRENCY = 4;

/** ReCLIP's caption: "a photo of <expr lowercased>", or the method's own (shade). */
export const PHOTO_TEMPLATE = 'a photo of {}';

export function captionOf(method: Method, expression: string): string {
  return (method.captionTemplate ?? PHOTO_TEMPLATE).replace('{}', expression.toLowerCase());
}

export function splitBank(samples: readonly RecSample[]): BankCaption[] {
  return samples.flatMap((s) => s.sentences.map((t) => ({ text: t.text, image: s.image })));
}

function boxesOf(sample: RecSample, setting: RecSetting, where: string): readonly BoxXYWH[] {
  if (setting === 'gold') return sample.gold.map((g) => g.box);
  if (!sample.proposals)
    throw new UserError(
      `${where}: proposals: missing; the prop setting needs detector boxes (import with --dets FILE)`,
    );
  return sample.proposals;
}

/**
 * Evaluates every row on one split. Work is grouped by image so that every (method, box) is
 * encoded once for all refs, sentences and rows of that image; sentences already in the record log
 * are skipped (resume), and each finished ref is appended at once (an interrupted run loses at most
 * the refs in flight).
 */
export async function evaluateRecSplit(rows: readonly RecRow[], split: RecSplit, ctx: EvalContext): Promise<void> {
  const { samples, imageRoot, lineOf } = split.data;
  const byImage = new Map<string, { sample: RecSample; where: string }[]>();
  for (const sample of samples) {
    const list = byImage.get(sample.image) ?? [];
    list.push({ sample, where: lineOf.get(sample.id)! });
    byImage.set(sample.image, list);
  }
  const pending = (row: RecRow, s: RecSample) => s.sentences.filter((t) => !ctx.records.has(row.key, split.key, t.id));
  await forEachLimited([...byImage], CONCURRENCY, async ([image, refs]) => {
    const todo = refs.flatMap((r) => rows.map((row) => ({ ...r, row, sentences: pending(row, r.sample) })));
    const work = todo.filter((t) => t.sentences.length > 0);
    if (work.length === 0) return;
    const first = refs[0]!;
    const features = await ImageFeatures.forFile(ctx.encoder, path.resolve(imageRoot, image), ctx.cache, {
      width: first.sample.width,
      height: first.sample.height,
      where: first.where,
    });
    // Refs of an image run concurrently so their boxes land in the same encoder batches;
    // records are appended in a fixed order afterwards.
    const results = await Promise.all(
      work.map((w) => scoreRef(w.row, w.sample, w.sentences, features, split, ctx, w.where)),
    );
    for (const recs of results) {
      for (const r of recs) await ctx.records.append(r);
    }
  });
}

async function scoreRef(
  row: RecRow,
  sample: RecSample,
  sentences: RecSample['sentences'],
  features: ImageFeatures,
  split: RecSplit,
  ctx: EvalContext,
  where: string,
): Promise<EvalRecord[]> {
  const { setting, subtract } = row.options;
  const boxes = boxesOf(sample, setting, where);
  const candidates = candidateIndices(boxes, sample.width, sample.height);
  const targets = targetsOf(sample).map((g) => g.box);
  const feats = await Promise.all(
    row.methods.map((m) => Promise.all(candidates.map((i) => features.get(m, boxes[i]!)))),
  );
  return Promise.all(
    sentences.map(async (sentence) => {
      const scores = new Array<number>(boxes.length).fill(Number.NEGATIVE_INFINITY);
      for (const c of candidates) scores[c] = 0;
      for (const [mi, method] of row.methods.entries()) {
        const caption = await ctx.texts.get(captionOf(method, sentence.text));
        const negMean = subtract
          ? await ctx.texts.mean(
              sampleNegatives(split.data.bank, sentence.id, sample.image, subtract).map((t) => captionOf(method, t)),
            )
          : undefined;
        candidates.forEach((c, k) => {
          scores[c]! += boxLogit(feats[mi]![k]!, caption, negMean);
        });
      }
      const pred = argmax(scores, candidates);
      return {
        row: row.key,
        split: split.key,
        id: sentence.id,
        pred,
        correct: isCorrect(boxes[pred]!, targets),
        scores: scores.map((s) => (Number.isFinite(s) ? Math.round(s * 1e4) / 1e4 : null)),
      };
    }),
  );
}
