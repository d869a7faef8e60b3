import { readFile } from 'node:fs/promises';
import pLimit from 'p-limit';
import { decodeBinaryMask } from '../datasets/foreground-mask.js';
import type { OpenedEncoder } from '../encoder/open-encoder.js';
import { DecodedImage } from '../encoder/image-input.js';
import type { VisionPromptInputs } from '../encoder/requests.js';
import type { BoxXYWH } from '../image/box.js';
import { centerCropBox, centerCropImage, inputGeometry, type Preprocessing } from '../image/input-view.js';
import { loadImage } from '../image/load-image.js';
import type { VisionConfig } from '../model/clip-config.js';
import { type PromptMask, visionPromptInputs } from '../model/graphs/vision-prompts.js';
import { readRegisteredPromptSet } from '../model/learned-prompts/prompt-registry.js';
import { makeMethod } from '../prompts/method.js';
import type { BoxSample, Sampling } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';
import { type HeadStatistics, headStatistics, meanStatistics } from './attention-statistics.js';
import { attentionCsv, attentionPlots } from './attention-output.js';
import { datasetBoxSamples, defaultSplit } from './box-samples.js';
import { boxForeground, hasForeground as maskHasForeground, maskForeground } from './foreground-patches.js';
import { analysisRequest } from './prompted-view.js';

/** Images decoded and analysed at the same time: each holds L·H·T² probabilities per series. */
const CONCURRENCY = 2;

export interface AnalyzeAttentionRequest {
  dataset: string;
  split?: string;
  sampling: Sampling;
  /** The methods, with their raw parameters (plain = the image as it is). */
  methods: { name: string; params: Record<string, unknown> }[];
  /** Registered prompt sets of the model: each a prompted CLIP beside the base one. */
  prompts: string[];
  promptMask: PromptMask;
  open(): Promise<OpenedEncoder>;
  progress(label: string, total: number, unit: string): { add(n: number): void; stop(): void };
}

/** One CLIP (the base one, or prompted) under one method. */
export interface AttentionSeries {
  /** `CLIP` or the prompt set's name. */
  prompts: string;
  method: string;
  params: Record<string, unknown>;
  /** n_v: 0 for the base CLIP and for prompt sets with text prompts only. */
  prompt_tokens: number;
}

/** One line of attention.csv: a series' (layer, head), means over the images. */
export interface AttentionRow extends HeadStatistics {
  prompts: string;
  method: string;
  /** 1-based. */
  layer: number;
  head: number;
}

/** attention.json. */
export interface AttentionReport {
  dataset: string;
  split: string;
  model: { name: string; sha256: string };
  /** How the images become the model's input. */
  preprocess: Preprocessing;
  /** Where the foreground comes from: FVG-PT-style masks imported with the dataset, else the boxes. */
  foreground: 'mask' | 'box';
  samples: { images: number; total: number; used: number; without_foreground: number };
  sampling: { limit: number | null; sample_seed: number };
  prompt_mask: PromptMask;
  series: AttentionSeries[];
  rows: AttentionRow[];
}

export interface AnalyzeAttentionResult {
  report: AttentionReport;
  files(): Promise<[string, string | Uint8Array][]>;
}

interface Variant {
  name: string;
  vision?: VisionPromptInputs;
}

/**
 * `falip analyze attention`: seed 003's attention statistics (docs/attention-statistics.md) per layer
 * and head for the base CLIP and each prompt set, under each method, averaged over a dataset split's
 * images (one box or mask per image; a REC split's refs each count as one image view). Every series
 * reads one full forward per image; sums run in sample order, so the numbers do not depend on scheduling.
 */
export async function analyzeAttention(r: AnalyzeAttentionRequest): Promise<AnalyzeAttentionResult> {
  const split = r.split ?? defaultSplit(r.dataset);
  const data = await datasetBoxSamples(r.dataset, split, r.sampling);
  if (data.samples.length === 0) throw new UserError(`dataset ${r.dataset}/${split}: no images to analyse`);
  const preprocess = data.preprocess ?? 'squash';
  const foreground = data.samples.some((s) => s.mask) ? 'mask' : 'box';
  const { encoder, model } = await r.open();
  const v = encoder.config.vision;
  const methods = r.methods.map((m, i) => makeMethod(m.name, m.params, v, `--method[${i}]`));
  const variants: Variant[] = [{ name: 'CLIP' }];
  for (const name of r.prompts) {
    const set = await readRegisteredPromptSet(encoder.graphs.model, model.sha256, name);
    const key = `${set.name}@${set.tensorsSha256.slice(0, 16)}/${r.promptMask}`;
    variants.push({
      name,
      ...(set.prompts.vision && { vision: visionPromptInputs(v, set.prompts.vision, key, r.promptMask) }),
    });
  }
  const series = variants.flatMap((variant) => methods.map((method) => ({ variant, method })));
  // Every request first: a method that cannot be analysed fails before anything is encoded.
  for (const s of data.samples) for (const m of methods) analysisRequest(m, s, s.box);

  const bar = r.progress(`attention ${r.dataset}/${split}`, data.samples.length, 'images');
  const perImage = new Array<HeadStatistics[][]>(data.samples.length);
  let withoutForeground = 0;
  const limit = pLimit(CONCURRENCY);
  try {
    await Promise.all(
      data.samples.map((sample, i) =>
        limit(async () => {
          const view = await imageView(sample, preprocess, v);
          if (!view.hasForeground) withoutForeground++;
          perImage[i] = await Promise.all(
            series.map(async ({ variant, method }) => {
              const request = analysisRequest(method, view.input, view.box);
              const probs = await encoder.attentionProbs(
                view.input,
                variant.vision ? { ...request, prompts: variant.vision } : request,
              );
              return headStatistics(probs, v, view.foreground);
            }),
          );
          bar.add(1);
        }),
      ),
    );
  } finally {
    bar.stop();
  }

  const rows: AttentionRow[] = series.flatMap(({ variant, method }, k) => {
    const mean = meanStatistics(perImage.map((img) => img[k]!));
    return mean.map((stats, lh) => ({
      prompts: variant.name,
      method: method.name,
      layer: Math.floor(lh / v.numHeads) + 1,
      head: (lh % v.numHeads) + 1,
      ...stats,
    }));
  });
  const report: AttentionReport = {
    dataset: r.dataset,
    split,
    model: { name: model.name, sha256: model.sha256 },
    preprocess,
    foreground,
    samples: { images: data.samples.length, ...data.counts, without_foreground: withoutForeground },
    sampling: { limit: r.sampling.limit ?? null, sample_seed: r.sampling.seed },
    prompt_mask: r.promptMask,
    series: series.map(({ variant, method }) => ({
      prompts: variant.name,
      method: method.name,
      params: method.params,
      prompt_tokens: variant.vision?.tokens ?? 0,
    })),
    rows,
  };
  const where = `${r.dataset}/${split}, ${data.samples.length} images, ${model.name}`;
  return {
    report,
    files: async () => [
      ['attention.csv', attentionCsv(rows)],
      ['attention.json', `${JSON.stringify(report, null, 2)}\n`],
      ...(await attentionPlots(rows, where)),
    ],
  };
}

/** An image as the encoder sees it, its box there, and each patch's foreground fraction. */
interface ImageView {
  input: DecodedImage;
  box: BoxXYWH;
  foreground: Float64Array;
  hasForeground: boolean;
}

async function imageView(sample: BoxSample, preprocess: Preprocessing, v: VisionConfig): Promise<ImageView> {
  const rgb = await loadImage(sample.image);
  const S = v.imageSize;
  const geometry = inputGeometry(preprocess, rgb.width, rgb.height, S);
  const size = { width: rgb.width, height: rgb.height };
  let foreground: Float64Array;
  let found = true;
  if (sample.mask) {
    const bytes = await readFile(sample.mask).catch((err: Error) => {
      throw new UserError(`${sample.mask}: foreground mask of ${sample.id}: ${err.message}`);
    });
    const mask = await decodeBinaryMask(bytes, sample.mask);
    found = maskHasForeground(mask);
    // As at import: an image without foreground is all foreground.
    foreground = found
      ? maskForeground(mask, geometry, v)
      : boxForeground([0, 0, rgb.width, rgb.height], size, geometry, v);
  } else {
    foreground = boxForeground(sample.box, size, geometry, v);
  }
  if (preprocess === 'squash')
    return { input: new DecodedImage(sample.image, rgb), box: sample.box, foreground, hasForeground: found };
  const cropped = centerCropBox(sample.box, rgb.width, rgb.height, geometry);
  return {
    input: new DecodedImage(`${sample.image}|${preprocess}@${S}`, centerCropImage(rgb, S)),
    box: cropped.box ?? [0, 0, S, S],
    foreground,
    hasForeground: found,
  };
}
