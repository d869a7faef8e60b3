import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { datasetBoxSamples, defaultSplit } from '../analysis/box-samples.js';
import { headSensitivity } from '../analysis/head-sensitivity.js';
import { headsCsv, headsFigure } from '../analysis/heads-output.js';
import { openEncoder, parsePositiveInt, type EncoderFlags } from '../encoder/open-encoder.js';
import { checkMethodEntry, makeMethod } from '../prompts/method.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { methodEntriesFromFlags } from './method-flags.js';
import { addMethodParamOptions, makeOption } from './options.js';
import { startProgress } from './progress.js';
import { samplingOf } from './run-options.js';

interface AnalyzeHeadsFlags extends EncoderFlags {
  split?: string;
  limit?: string;
  sampleSeed: string;
  prompt: string;
  top: string;
  out?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const analyze = program.command('analyze').description('statistics of the image encoder over a dataset');
  const heads = analyze
    .command('heads <dataset>')
    .description(
      "per attention head, how much a visual prompt changes the head's CLS contribution (FALIP Fig. 6 right: mean ‖G′ₕ − Gₕ‖, original vs prompted image), ranked, " +
        'beside the entropy of the CLS attention row and its share inside the box, original vs prompted',
    )
    .addOption(makeOption('model'))
    .addOption(makeOption('device'))
    .addOption(makeOption('threads'))
    .addOption(makeOption('batchSize'))
    .option('--split <name>', "the split to analyse (default: the dataset's first paper split)")
    .addOption(makeOption('limit'))
    .addOption(makeOption('sampleSeed'))
    .option(
      '--prompt <method>',
      'the visual prompt compared with the original image (a registered method, e.g. redcircle, falip, redcircle+blur)',
      'redcircle',
    )
    .option('--top <n>', 'heads printed', '5')
    .option('--out <dir>', 'also write heads.csv, heads.json and the heatmaps heads.svg/heads.png there');
  addMethodParamOptions(heads)
    .addOption(makeOption('json'))
    .addHelpText(
      'after',
      `
Samples: REC datasets give each ref's target box on its image, classification datasets each image's box.
Statistics per (layer, head), means over the samples: change = ‖G′ₕ − Gₕ‖ (G: the head's CLS output after
its slice of the out-projection, bias excluded); entropy (nats) of the CLS query's attention row; in_box =
that row's attention mass on the box's tokens. Rows are ranked by change.`,
    )
    .action(async (dataset: string, o: AnalyzeHeadsFlags, command: Command) => {
      const [entry] = methodEntriesFromFlags([o.prompt], command);
      checkMethodEntry(entry!.name, entry!.params, '--prompt');
      const sampling = samplingOf(o);
      const top = parsePositiveInt('--top', o.top);
      const split = o.split ?? defaultSplit(dataset);
      const data = await datasetBoxSamples(dataset, split, sampling);
      if (data.samples.length === 0) throw new UserError(`dataset ${dataset}/${split}: no boxes to analyse`);
      const { encoder, model } = await openEncoder(o);
      const method = makeMethod(entry!.name, entry!.params, encoder.config.vision, '--prompt');
      const bar = startProgress(`heads ${dataset}/${split}`, data.samples.length, 'boxes');
      const rows = await headSensitivity(encoder, data.samples, method, () => bar.add(1)).finally(() => bar.stop());
      const result = {
        dataset,
        split,
        task: data.task,
        prompt: { name: method.name, params: method.params },
        model: { name: model.name, sha256: model.sha256 },
        samples: { boxes: data.samples.length, ...data.counts },
        sampling: { limit: sampling.limit ?? null, sample_seed: sampling.seed },
        heads: rows,
      };
      if (o.out) {
        await mkdir(o.out, { recursive: true });
        const figure = await headsFigure(
          rows,
          encoder.config.vision,
          `${method.name} vs original on ${dataset}/${split} (${data.samples.length} boxes, ${model.name})`,
        );
        await writeFileAtomic(path.join(o.out, 'heads.json'), `${JSON.stringify(result, null, 2)}\n`);
        await writeFileAtomic(path.join(o.out, 'heads.csv'), headsCsv(rows));
        await writeFileAtomic(path.join(o.out, 'heads.svg'), figure.svg);
        await writeFileAtomic(path.join(o.out, 'heads.png'), figure.png);
      }
      if (o.json) return console.log(JSON.stringify(result));
      console.log(
        `${method.name} vs original, ${dataset}/${split}: ${data.samples.length} boxes (${data.counts.used} of ${data.counts.total} ${data.task === 'rec' ? 'refs' : 'images'}), model ${model.name}`,
      );
      console.log(`top ${Math.min(top, rows.length)} heads by mean ‖G′ₕ − Gₕ‖ (layer, head 1-based):`);
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      const line = (cells: string[]) => cells.map((c, i) => c.padStart([4, 6, 5, 10, 10, 22, 22][i]!)).join('');
      console.log(line(['rank', 'layer', 'head', 'change', '‖G‖', 'entropy orig→prompt', 'in box orig→prompt']));
      for (const r of rows.slice(0, top)) {
        console.log(
          line([
            String(r.rank),
            String(r.layer),
            String(r.head),
            r.change.toFixed(4),
            r.norm_plain.toFixed(4),
            `${r.entropy_plain.toFixed(3)} → ${r.entropy_prompted.toFixed(3)}`,
            `${pct(r.in_box_plain)} → ${pct(r.in_box_prompted)}`,
          ]),
        );
      }
      if (o.out)
        console.log(
          `\nwritten: ${['heads.csv', 'heads.json', 'heads.svg', 'heads.png'].map((f) => path.join(o.out!, f)).join(', ')}`,
        );
    });
}
