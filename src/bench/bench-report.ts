import type { Device } from '../encoder/execution-provider.js';
import type { Int8Report } from './int8-drift.js';

/** Everything `falip bench` measured in one run (the `--json` output); ratios use baselines of the same run. */
export interface BenchReport {
  model: string;
  device: Device;
  /** Intra-op threads; null = ORT's default (every core). */
  threads: number | null;
  batch_size: number;
  workload: { images: number; boxes: number; sentences: number };
  /** Plain encoder throughput at batch size 1 and at `batch_size`. */
  images_per_s: { batch1: number; batchN: number };
  /** FALIP (bias on every image, full graph) time over plain time, both at `batch_size`. */
  falip_over_plain: number;
  rec: {
    /** Box·sentence pairs per second: one batch-1 forward per pair, as the reference code does. */
    naive_per_s: number;
    /** Box·sentence pairs per second: each box encoded once, prefix shared, batched. */
    falip_per_s: number;
    speedup: number;
    /** Largest relative difference between the two paths' features. */
    max_rel_diff: number;
  };
  /** Encoder time inside model calls over wall time, during falip's REC path. */
  encoder_busy_share: number;
  matmul_peak_gflops: number;
  /** Vision-forward FLOPs × plain images/s at `batch_size`. */
  encoder_gflops: number;
  /** encoder_gflops over the fp32 matmul peak; in an int8 run the integer kernels can pass 1. */
  encoder_fraction_of_peak: number;
  /** With `--precision int8`: int8 against fp32 in the same run. */
  int8?: Int8Report;
  /** With `--prompt-tokens N`: a prompt-tuned CLIP's vision graph (N appended tokens) against plain, same run. */
  prompted?: PromptedReport;
}

/** Plain and prompted images/s at `batch_size`, each the best of alternating rounds. */
export interface PromptedReport {
  tokens: number;
  plain_images_per_s: number;
  prompted_images_per_s: number;
  /** Prompted time over plain time. */
  prompted_over_plain: number;
}
