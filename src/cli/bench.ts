import type { Command } from 'commander';
import { REC_MAX_REL_DIFF, renderBench } from '../bench/render-bench.js';
import { BENCH_PHASES, runBench } from '../bench/run-bench.js';
import { openEncoder, parsePositiveInt, type EncoderFlags } from '../encoder/open-encoder.js';
import { CheckFailed } from '../util/errors.js';
import { makeOption } from './options.js';
import { startProgress } from './progress.js';

interface BenchFlags extends EncoderFlags {
  images: string;
  boxes: string;
  sentences: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('measure the encoder: plain and FALIP throughput, the REC speedup over per-box forwards, and the share of the matmul peak')
    .addOption(makeOption('model'))
    .option('--images <n>', 'seeded random images (preprocessed tensors, no decoding)', '4')
    .option('--boxes <n>', 'seeded random boxes per image', '10')
    .option('--sentences <n>', 'referring expressions per image (REC)', '3')
    .addOption(makeOption('batchSize'))
    .addOption(makeOption('device'))
    .addOption(makeOption('threads'))
    .addOption(makeOption('precision'))
    .addOption(makeOption('json'))
    .action(async (o: BenchFlags) => {
      const counts = {
        images: parsePositiveInt('--images', o.images),
        boxes: parsePositiveInt('--boxes', o.boxes),
        sentences: parsePositiveInt('--sentences', o.sentences),
      };
      // The opened encoder resolves the model, device, threads and batch size; the bench makes its own
      // encoders from them (batch 1, batch N, with and without prefix sharing).
      const { encoder } = await openEncoder(o);
      const progress = startProgress('bench', BENCH_PHASES.length, 'phases');
      const { device, threads, batchSize } = encoder.options;
      const report = await runBench({ graphs: encoder.graphs, device, threads, batchSize, ...counts, onPhaseDone: () => progress.add(1) }).finally(() => progress.stop());
      console.log(o.json ? JSON.stringify(report) : renderBench(report));
      if (report.rec.max_rel_diff > REC_MAX_REL_DIFF) {
        throw new CheckFailed(`the naive and falip REC paths differ by ${report.rec.max_rel_diff.toExponential(2)} (limit ${REC_MAX_REL_DIFF})`);
      }
    });
}
