import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { RecSample } from '../../datasets/rec-manifest.js';
import type { TextFeatures } from '../../encoder/text-features.js';
import type { AblationEncoder } from '../../encoder/ablation-encoder.js';
import type { ClipEncoder } from '../../encoder/clip-encoder.js';
import type { FeatureCache } from '../../encoder/feature-cache.js';
import { sha256Hex } from '../../util/sha256.js';
import type { BoxXYWH } from '../../image/box.js';
import { loadImage } from '../../image/load-image.js';
import type { Method } from '../../prompts/method.js';
import type { RecordLog } from '../../report/records.js';
import { UserError } from '../../util/errors.js';
import { ImageBoxFeatures } from './box-features.js';
import { sampleNegatives, type BankCaption, type SubtractSpec } from './negatives.js';
import { boxLogit, candidateIndices, isCorrect, predictBox } from './rec-scoring.js';

export type RecSetting = 'gold' | 'prop';

/** One table row of a REC table: methods whose logits are summed (one method = no ensemble). */
export interface RecRow {
  key: string;
  setting: RecSetting;
  methods: Method[];
  subtract?: SubtractSpec;
}

/** One column: a dataset split (possibly a seeded subset of it). */
export interface RecColumn {
  key: string;
  samples: RecSample[];
  imageRoot: string;
  manifest: string;
  /** Every caption of the split (the whole split even under --limit), for subtraction. */
  bank: BankCaption[];
}

export interface RecContext {
  encoder: ClipEncoder;
  texts: TextFeatures;
  records: RecordLog;
  /** Called after each ref with the number of row×ref units it completed. */
  progress: (units: number) => void;
  /** Images decoded and encoded at the same time; enough to keep the encoder's batches full. */
  concurrency?: number;
  /** On-disk feature cache (`--cache DIR`). */
  cache?: FeatureCache;
  /** Needed when a row uses an ablation method. */
  ablation?: AblationEncoder;
}

const DEFAULT_CONCURRENCY = 4;

export function captionOf(method: Method, expression: string): string {
  return method.textTemplate.replace('{}', expression.toLowerCase());
}

export function splitBank(samples: readonly RecSample[]): BankCaption[] {
  return samples.flatMap((s) => s.sentences.map((t) => ({ text: t.text, image: s.image })));
}

function boxesOf(sample: RecSample, setting: RecSetting, where: string): readonly BoxXYWH[] {
  if (setting === 'gold') return sample.gold.map((g) => g.box);
  if (!sample.proposals) throw new UserError(`${where}: proposals: missing; the prop setting needs detector boxes (import with --dets FILE)`);
  return sample.proposals;
}

/**
 * Evaluates every row on one column. Work is grouped by image so that every (method, box) is
 * encoded once for all refs, sentences and rows of that image; sentences already in the record log
 * are skipped (resume), and each finished sentence is appended at once (an interrupted run loses
 * at most the sentence in flight).
 */
export async function evaluateRecColumn(rows: readonly RecRow[], column: RecColumn, ctx: RecContext): Promise<void> {
  const byImage = new Map<string, { sample: RecSample; line: number }[]>();
  column.samples.forEach((sample, i) => {
    const list = byImage.get(sample.image) ?? [];
    list.push({ sample, line: i + 1 });
    byImage.set(sample.image, list);
  });
  const pending = (row: RecRow, s: RecSample) => s.sentences.filter((t) => !ctx.records.has(row.key, column.key, t.id));
  const limit = pLimit(ctx.concurrency ?? DEFAULT_CONCURRENCY);
  await Promise.all(
    [...byImage].map(([image, refs]) =>
      limit(async () => {
        const todo = refs.flatMap((r) => rows.map((row) => ({ ...r, row, sentences: pending(row, r.sample) })));
        ctx.progress(todo.filter((t) => t.sentences.length === 0).length);
        const work = todo.filter((t) => t.sentences.length > 0);
        if (work.length === 0) return;
        const file = path.resolve(column.imageRoot, image);
        const decoded = await loadImage(file);
        const disk = ctx.cache && { cache: ctx.cache, imageSha256: sha256Hex(await readFile(file)) };
        const features = new ImageBoxFeatures(ctx.encoder, file, decoded, disk, ctx.ablation);
        // Refs of an image run concurrently so their boxes land in the same encoder batches;
        // records are appended in a fixed order afterwards.
        const results = await Promise.all(work.map((w) => scoreRef(w.row, w.sample, w.sentences, features, column, ctx, `${column.manifest}:${w.line}`)));
        for (const recs of results) {
          for (const r of recs) await ctx.records.append(r);
          ctx.progress(1);
        }
      }),
    ),
  );
}

async function scoreRef(
  row: RecRow,
  sample: RecSample,
  sentences: RecSample['sentences'],
  features: ImageBoxFeatures,
  column: RecColumn,
  ctx: RecContext,
  where: string,
) {
  const boxes = boxesOf(sample, row.setting, where);
  const candidates = candidateIndices(boxes, sample.width, sample.height);
  const targets = sample.gold.filter((g) => sample.target_ids.includes(g.id)).map((g) => g.box);
  const feats = await Promise.all(row.methods.map((m) => Promise.all(candidates.map((i) => features.get(m, boxes[i]!)))));
  return Promise.all(
    sentences.map(async (sentence) => {
      const scores = new Array<number>(boxes.length).fill(Number.NEGATIVE_INFINITY);
      for (const c of candidates) scores[c] = 0;
      for (const [mi, method] of row.methods.entries()) {
        const caption = await ctx.texts.get(captionOf(method, sentence.text));
        const negMean = row.subtract
          ? await ctx.texts.mean(sampleNegatives(column.bank, sentence.id, sample.image, row.subtract).map((t) => captionOf(method, t)))
          : undefined;
        candidates.forEach((c, k) => (scores[c]! += boxLogit(feats[mi]![k]!, caption, negMean)));
      }
      const pred = predictBox(scores, candidates);
      return {
        row: row.key,
        column: column.key,
        id: sentence.id,
        pred,
        correct: isCorrect(boxes[pred]!, targets),
        scores: scores.map((s) => (Number.isFinite(s) ? Math.round(s * 1e4) / 1e4 : null)),
      };
    }),
  );
}
