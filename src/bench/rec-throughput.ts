import type { Encoder } from '../encoder/encoder.js';
import { TensorImage } from '../encoder/image-input.js';
import type { Method } from '../prompts/method.js';
import { ImageFeatures } from '../tasks/shared/image-features.js';
import { normalized } from '../util/vector.js';
import { warmUp } from './encode-all.js';
import { maxRelativeDiff } from './relative-diff.js';
import { timed } from './timed.js';
import { BENCH_FRAME, falipRequests, type BenchWorkload } from './workload.js';

/** One way of scoring every box of every image against each of its `sentences` referring expressions. */
export interface RecPathResult {
  /** Box·sentence pairs scored per second. */
  pairsPerSecond: number;
  /** The normalized image feature used for each (image, box, sentence), image-major then sentence then box. */
  features: Float32Array[];
}

/**
 * What the reference implementation does: for every sentence, for every box, one full forward with the
 * bias at batch size 1 — nothing reused, nothing batched. `encoder` must have batch size 1 and prefix
 * sharing off. Text encoding is left out of both paths: it is the same work in each.
 */
export async function naiveRec(encoder: Encoder, w: BenchWorkload, sentences: number): Promise<RecPathResult> {
  const requests = falipRequests(w, 'naive:', 'request');
  await warmUp(encoder, requests, encoder.options.batchSize);
  const { result: features, seconds } = await timed(async () => {
    const out: Float32Array[] = [];
    for (let image = 0; image < w.pixels.length; image++) {
      const items = requests.filter((_, k) => w.items[k]!.image === image);
      for (let s = 0; s < sentences; s++) {
        for (const r of items) out.push(normalized(await encoder.image(r.input, r.request)));
      }
    }
    return out;
  });
  return { pairsPerSecond: features.length / seconds, features };
}

export interface FalipRecResult extends RecPathResult {
  /** Share of the path's wall time the encoder spent inside model calls. */
  busyShare: number;
}

/**
 * falip's path, through the tasks' own feature sharing (ImageFeatures, as REC evaluation uses it): every
 * sentence of an image asks for its boxes' features, each (image, box) is encoded once, the unbiased
 * prefix layers run once per image, and all requests are submitted at once so the batcher fills
 * batches. `encoder` must have prefix sharing on; `falip` is the method the workload's requests are of.
 */
export async function falipRec(
  encoder: Encoder,
  w: BenchWorkload,
  sentences: number,
  falip: Method,
): Promise<FalipRecResult> {
  await warmUp(encoder, falipRequests(w, 'image:'), encoder.options.batchSize);
  const busyBefore = encoder.stats().busyMs;
  const { result: features, seconds } = await timed(() => {
    const images = w.pixels.map(
      (p, image) =>
        new ImageFeatures(encoder, new TensorImage(`rec:${image}`, p, BENCH_FRAME.width, BENCH_FRAME.height)),
    );
    return Promise.all(
      w.pixels.flatMap((_, image) => {
        const boxes = w.items.filter((it) => it.image === image);
        return Array.from({ length: sentences }, () => boxes.map((it) => images[image]!.get(falip, it.box))).flat();
      }),
    );
  });
  const busyShare = (encoder.stats().busyMs - busyBefore) / 1000 / seconds;
  return { pairsPerSecond: (w.items.length * sentences) / seconds, features, busyShare };
}

/** Largest relative difference between the two paths' features of the same (image, box, sentence). */
export function recPathsDiff(a: RecPathResult, b: RecPathResult): number {
  if (a.features.length !== b.features.length)
    throw new Error(`REC paths produced ${a.features.length} and ${b.features.length} features`);
  return Math.max(...a.features.map((f, i) => maxRelativeDiff(f, b.features[i]!)));
}
