import pLimit from 'p-limit';
import type { Encoder } from '../encoder/encoder.js';
import { DecodedImage } from '../encoder/image-input.js';
import { loadImage } from '../image/load-image.js';
import type { VisionConfig } from '../model/clip-config.js';
import type { Method } from '../prompts/method.js';
import { clsRowEntropies, clsRowMasses, clsRowStats, headChanges, headNorms } from './attention-stats.js';
import type { BoxSample } from '../tasks/task-definition.js';
import { analysisRequest, boxTokens } from './prompted-view.js';

/** Images decoded and encoded at the same time; enough to keep the encoder's batches full. */
const CONCURRENCY = 4;

/** One (layer, head) over every sample: means, in sample order. */
export interface HeadSensitivityRow {
  /** 1-based place in the ranking by `change`. */
  rank: number;
  /** 1-based. */
  layer: number;
  head: number;
  /** Mean ‖G′ₕ − Gₕ‖: how far the prompt moves the head's CLS contribution (after its out-projection slice). */
  change: number;
  /** Mean ‖Gₕ‖ on the original image, the scale of `change`. */
  norm_plain: number;
  /** Mean entropy of the head's CLS attention row (nats), original and prompted. */
  entropy_plain: number;
  entropy_prompted: number;
  /** Mean share of the CLS row's attention inside the box, original and prompted. */
  in_box_plain: number;
  in_box_prompted: number;
}

/** The per-(layer, head) numbers of one sample, row-major [L·H]. */
interface SampleStats {
  change: Float64Array;
  norm: Float64Array;
  entropyPlain: Float64Array;
  entropyPrompted: Float64Array;
  inBoxPlain: Float64Array;
  inBoxPrompted: Float64Array;
}

type StatName = keyof SampleStats;
const STATS: readonly StatName[] = ['change', 'norm', 'entropyPlain', 'entropyPrompted', 'inBoxPlain', 'inBoxPrompted'];

/**
 * Per (layer, head), how much `method` changes the head over the samples (FALIP Fig. 6 right: the mean
 * ‖G′ₕ − Gₕ‖ between the original and the prompted image), beside seed paper 003's attention statistics
 * (entropy of the CLS row, and here its mass inside the box), original vs prompted. The original image's
 * capture is computed once per image, however many boxes it has, and its boxes' prompted captures batch
 * together. Rows come ranked by change (ties: lower layer, then head, first); the means are summed in
 * sample order, so the output does not depend on scheduling.
 */
export async function headSensitivity(
  encoder: Encoder,
  samples: readonly BoxSample[],
  method: Method,
  onSample: () => void,
): Promise<HeadSensitivityRow[]> {
  const v = encoder.config.vision;
  // Every request first: a prompt that cannot be analysed fails before anything is encoded.
  const requests = samples.map((s) => analysisRequest(method, s, s.box));
  const byImage = new Map<string, number[]>();
  samples.forEach((s, i) => {
    byImage.set(s.image, [...(byImage.get(s.image) ?? []), i]);
  });
  const results = new Array<SampleStats>(samples.length);
  const limit = pLimit(CONCURRENCY);
  await Promise.all(
    [...byImage].map(([file, indices]) =>
      limit(async () => {
        const rgb = await loadImage(file);
        const input = new DecodedImage(file, rgb);
        const plain = await encoder.capture(input, {});
        // The original image's numbers that do not depend on the box, shared by its boxes.
        const norm = headNorms(plain, v);
        const entropyPlain = clsRowEntropies(plain, v);
        await Promise.all(
          indices.map(async (i) => {
            const prompted = await encoder.capture(input, requests[i]!);
            const tokens = boxTokens(samples[i]!.box, rgb, v);
            const b = clsRowStats(prompted, v, tokens);
            results[i] = {
              change: headChanges(plain, prompted, v),
              norm,
              entropyPlain,
              entropyPrompted: b.entropy,
              inBoxPlain: clsRowMasses(plain, v, tokens),
              inBoxPrompted: b.inside,
            };
            onSample();
          }),
        );
      }),
    ),
  );
  return rankHeads(meanStats(results, v), v);
}

function meanStats(results: readonly SampleStats[], v: VisionConfig): SampleStats {
  const n = v.numLayers * v.numHeads;
  const mean = Object.fromEntries(STATS.map((k) => [k, new Float64Array(n)])) as unknown as SampleStats;
  for (const r of results) for (const k of STATS) for (let i = 0; i < n; i++) mean[k][i]! += r[k][i]! / results.length;
  return mean;
}

/** The heads ranked by mean change, largest first. */
function rankHeads(mean: SampleStats, v: VisionConfig): HeadSensitivityRow[] {
  const rows = Array.from({ length: v.numLayers * v.numHeads }, (_, i) => ({
    rank: 0,
    layer: Math.floor(i / v.numHeads) + 1,
    head: (i % v.numHeads) + 1,
    change: mean.change[i]!,
    norm_plain: mean.norm[i]!,
    entropy_plain: mean.entropyPlain[i]!,
    entropy_prompted: mean.entropyPrompted[i]!,
    in_box_plain: mean.inBoxPlain[i]!,
    in_box_prompted: mean.inBoxPrompted[i]!,
  }));
  rows.sort((a, b) => b.change - a.change || a.layer - b.layer || a.head - b.head);
  rows.forEach((r, k) => {
    r.rank = k + 1;
  });
  return rows;
}
