import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { analyzeHeads } from '../analysis/analyze-heads.js';
import { openEncoder } from '../encoder/open-encoder.js';
import { checkMethodEntry } from '../prompts/method.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { methodEntriesFromFlags } from './method-flags.js';
import {
  addEncoderOptions,
  addMethodParamOptions,
  type EncoderFlags,
  encoderOptionsOf,
  makeOption,
} from './options.js';
import { parsePositiveInt } from './parse.js';
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
    );
  addEncoderOptions(heads)
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
      const { report, sampleUnit, files } = await analyzeHeads({
        dataset,
        split: o.split,
        sampling,
        prompt: entry!,
        open: () => openEncoder(encoderOptionsOf(o)),
        progress: startProgress,
      });
      const written: string[] = [];
      if (o.out) {
        await mkdir(o.out, { recursive: true });
        for (const [name, data] of await files()) {
          const file = path.join(o.out, name);
          await writeFileAtomic(file, data);
          written.push(file);
        }
      }
      if (o.json) return console.log(JSON.stringify(report));
      const { prompt, split, samples, model, heads: rows } = report;
      console.log(
        `${prompt.name} vs original, ${dataset}/${split}: ${samples.boxes} boxes (${samples.used} of ${samples.total} ${sampleUnit}), model ${model.name}`,
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
      if (written.length > 0) console.log(`\nwritten: ${written.join(', ')}`);
    });
}
