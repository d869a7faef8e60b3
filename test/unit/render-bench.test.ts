/**
 * `falip bench`'s table for an int8 run, from a report written by hand (the numbers of a demo-model run):
 * the drift is printed so that it can be read, and the REC paths' difference is not set against the fp32
 * limit that bench does not apply in int8.
 */
import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/bench-report.js';
import { renderBench } from '../../src/bench/render-bench.js';

const fp32Report: BenchReport = {
  model: 'demo',
  device: 'cpu',
  threads: null,
  batch_size: 8,
  workload: { images: 4, boxes: 10, sentences: 3 },
  images_per_s: { batch1: 199.8, batchN: 306.9 },
  falip_over_plain: 1.075,
  rec: { naive_per_s: 266.2, falip_per_s: 2420.7, speedup: 9.09, max_rel_diff: 2.3e-7 },
  encoder_busy_share: 0.76,
  matmul_peak_gflops: 94.5,
  encoder_gflops: 113.8,
  encoder_fraction_of_peak: 1.2,
};
const int8Report: BenchReport = {
  ...fp32Report,
  rec: { ...fp32Report.rec, max_rel_diff: 1.64e-3 },
  int8: {
    images_per_s: { fp32: 208.0, int8: 295.9 },
    batch_size: { fp32: 8, int8: 1 },
    speedup: 1.42,
    embedding_cosine: { mean: 0.9999966, min: 0.9999944 },
    rec_demo: { predictions: 228, changed: 15, share: 15 / 228 },
  },
};

const line = (text: string, start: string) => text.split('\n').find((l) => l.trimStart().startsWith(start));

describe('falip bench, the int8 lines', () => {
  it('prints the drift as 1 − cosine, which does not round to 1.0000', () => {
    expect(line(renderBench(int8Report), 'int8 (batch 1) 1 − cosine to fp32 (batch 8), mean and max')).toMatch(
      /mean and max\s+3\.4e-6, 5\.6e-6$/,
    );
  });

  it('sets the REC paths’ difference against the limit in fp32 only', () => {
    expect(line(renderBench(fp32Report), 'REC max relative diff')).toMatch(/2\.3e-7 {2}\(limit 1e-4\)$/);
    expect(line(renderBench(int8Report), 'REC max relative diff')).toMatch(
      /1\.6e-3 {2}\(int8: no limit, the paths quantize different activations\)$/,
    );
  });
});
