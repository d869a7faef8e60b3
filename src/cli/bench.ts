import type { Command } from 'commander';
import { int8Drift } from '../bench/int8-drift.js';
import { missedTargets, REC_MAX_REL_DIFF, renderBench, targetsHelp } from '../bench/render-bench.js';
import { BENCH_PHASES, runBench } from '../bench/run-bench.js';
import { benchWorkload, falipRequests, plainRequests } from '../bench/workload.js';
import { demoRecGenerator } from '../tasks/rec/demo-set.js';
import { openEncoder } from '../encoder/open-encoder.js';
import { makeMethod } from '../prompts/method.js';
import { CheckFailed } from '../util/errors.js';
import { addEncoderOptions, type EncoderFlags, encoderOptionsOf, makeOption } from './options.js';
import { parsePositiveInt } from './parse.js';
import { startProgress } from './progress.js';

interface BenchFlags extends EncoderFlags {
  images: string;
  boxes: string;
  sentences: string;
  json?: boolean;
  check?: boolean;
  promptTokens?: string;
}

/** Rounds of the int8/fp32 comparison, each precision keeping its best. */
const INT8_ROUNDS = 3;

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description(
      'measure the encoder: plain and FALIP throughput, the REC speedup over per-box forwards, the share of the matmul peak; with --precision int8 also int8 against fp32',
    );
  addEncoderOptions(bench)
    .option('--images <n>', 'seeded random images (preprocessed tensors, no decoding)', '4')
    .option('--boxes <n>', 'seeded random boxes per image', '10')
    .option('--sentences <n>', 'referring expressions per image (REC)', '3')
    .option(
      '--prompt-tokens <n>',
      "also measure a prompt-tuned CLIP's image tower: plain against prompted (n seeded random vision prompts, a deep prompt before every layer) images/s, same run",
    )
    .option('--check', `exit 1 when a measurement misses its target (${targetsHelp()})`)
    .addOption(makeOption('json'))
    .action(async (o: BenchFlags) => {
      const counts = {
        images: parsePositiveInt('--images', o.images),
        boxes: parsePositiveInt('--boxes', o.boxes),
        sentences: parsePositiveInt('--sentences', o.sentences),
      };
      const promptTokens =
        o.promptTokens === undefined ? undefined : parsePositiveInt('--prompt-tokens', o.promptTokens);
      // The opened encoder resolves the model, device, threads and batch size; the bench makes its own
      // encoders from them (batch 1, batch N, with and without prefix sharing).
      const options = encoderOptionsOf(o);
      const opened = await openEncoder(options);
      const int8 = opened.model.precision === 'int8';
      const progress = startProgress('bench', BENCH_PHASES.length + (int8 ? 1 : 0) + (promptTokens ? 1 : 0), 'phases');
      const { device, threads, batchSize } = opened.encoder.options;
      const report = await runBench({
        graphs: opened.encoder.graphs,
        device,
        threads,
        batchSize,
        ...counts,
        ...(promptTokens !== undefined && { promptTokens }),
        onPhaseDone: () => progress.add(1),
      }).finally(() => progress.stop());
      if (int8) {
        await demoRecGenerator.ensure();
        const fp32 = await openEncoder({ ...options, precision: 'fp32' });
        const v = fp32.encoder.config.vision;
        const w = benchWorkload(v, counts, makeMethod('falip', {}, v, 'falip bench'), 0);
        report.int8 = await int8Drift(
          fp32,
          opened,
          [...plainRequests(w), ...falipRequests(w, 'drift:', 'request')],
          INT8_ROUNDS,
        );
      }
      console.log(o.json ? JSON.stringify(report) : renderBench(report));
      // In int8 the two paths quantize different activations: they agree only as far as int8 agrees with fp32.
      if (!int8 && report.rec.max_rel_diff > REC_MAX_REL_DIFF) {
        throw new CheckFailed(
          `the naive and falip REC paths differ by ${report.rec.max_rel_diff.toExponential(2)} (limit ${REC_MAX_REL_DIFF})`,
        );
      }
      const missed = missedTargets(report);
      if (o.check && missed.length > 0) throw new CheckFailed(`bench targets missed: ${missed.join('; ')}`);
    });
}
