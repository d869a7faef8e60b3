import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { analyzeAttention, type AttentionReport } from '../analysis/analyze-attention.js';
import { seriesName, STATISTIC_LABELS } from '../analysis/attention-output.js';
import { HEAD_STATISTICS } from '../analysis/attention-statistics.js';
import { analyzeHeads } from '../analysis/analyze-heads.js';
import { openEncoder } from '../encoder/open-encoder.js';
import { PROMPT_MASKS, type PromptMask } from '../model/graphs/vision-prompts.js';
import { checkMethodEntry } from '../prompts/method.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { methodEntriesFromFlags } from './method-flags.js';
import {
  addEncoderOptions,
  addMethodParamOptions,
  type EncoderFlags,
  encoderOptionsOf,
  makeOption,
} from './options.js';
import { listValues, parsePositiveInt } from './parse.js';
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

interface AnalyzeAttentionFlags extends EncoderFlags {
  split?: string;
  limit?: string;
  sampleSeed: string;
  method?: string[];
  prompts?: string[];
  promptMask?: string;
  out?: string;
  json?: boolean;
}

/** Writes the files into `dir` (made if missing, never cleared), each atomically; returns their paths. */
async function writeFiles(dir: string, files: [string, string | Uint8Array][]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, data] of files) {
    const file = path.join(dir, name);
    await writeFileAtomic(file, data);
    written.push(file);
  }
  return written;
}

export function register(program: Command): void {
  const analyze = program.command('analyze').description('statistics of the image encoder over a dataset');
  registerAttention(analyze);
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
      const written = o.out ? await writeFiles(o.out, await files()) : [];
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

function registerAttention(analyze: Command): void {
  const cmd = analyze
    .command('attention <dataset>')
    .description(
      "seed 003's attention statistics per layer and head, for the base CLIP and prompt-tuned ones under each method: entropy of all query rows and of the CLS row, mean attention distance without and with the prompt tokens, the CLS row's mass on the prompt tokens, and our foreground share of it (docs/attention-statistics.md)",
    );
  addEncoderOptions(cmd)
    .option('--split <name>', "the split to analyse (default: the dataset's first paper split)")
    .addOption(makeOption('limit'))
    .addOption(makeOption('sampleSeed'))
    .option('--method <names...>', 'methods, each a series (space- or comma-separated)', ['plain', 'falip'])
    .option(
      '--prompts <names...>',
      "registered prompt sets of the model (falip prompts list): each a series beside the base CLIP's",
    )
    .addOption(makeOption('promptMask'))
    .option('--out <dir>', 'also write attention.csv, attention.json and the per-head plots (SVG and PNG) there');
  addMethodParamOptions(cmd)
    .addOption(makeOption('json'))
    .addHelpText(
      'after',
      `
Per series (base CLIP or a prompt set, under a method), layer and head, means over the images:
entropy_all, entropy_cls (nats); distance_wo_prompt, distance_w_prompt (pixels of the model's input);
cls_prompt_mass; cls_foreground_share (ours: the CLS row's attention on the foreground patches, from the
dataset's masks when imported with --masks, else its boxes). docs/attention-statistics.md defines them.`,
    )
    .action(async (dataset: string, o: AnalyzeAttentionFlags, command: Command) => {
      const names = listValues(o.method) ?? ['plain', 'falip'];
      const entries = methodEntriesFromFlags([...new Set(names)], command);
      for (const [i, e] of entries.entries()) checkMethodEntry(e.name, e.params, `--method[${i}]`);
      const mask = o.promptMask ?? 'zero';
      if (!(PROMPT_MASKS as readonly string[]).includes(mask))
        throw new UserError(`--prompt-mask ${mask}: expected one of ${PROMPT_MASKS.join(', ')}`);
      const { report, files } = await analyzeAttention({
        dataset,
        split: o.split,
        sampling: samplingOf(o),
        methods: entries,
        prompts: [...new Set(listValues(o.prompts) ?? [])],
        promptMask: mask as PromptMask,
        open: () => openEncoder(encoderOptionsOf(o)),
        progress: startProgress,
      });
      const written = o.out ? await writeFiles(o.out, await files()) : [];
      if (o.json) return console.log(JSON.stringify(report));
      printAttention(report);
      if (written.length > 0) console.log(`\nwritten: ${written.join(', ')}`);
    });
}

/** Per series, each layer's statistics as the mean over its heads (the CSV has every head). */
function printAttention(report: AttentionReport): void {
  const { samples, model } = report;
  console.log(
    `attention on ${report.dataset}/${report.split}: ${samples.images} images (${samples.used} of ${samples.total}), model ${model.name}, ${report.preprocess}; foreground from ${report.foreground === 'mask' ? 'masks' : 'boxes'}${samples.without_foreground > 0 ? ` (${samples.without_foreground} without foreground: whole image)` : ''}`,
  );
  const heads = new Set(report.rows.map((r) => r.head)).size;
  const headers = ['layer', 'H all', 'H CLS', 'dist W/O', 'dist W', 'CLS→prompt', 'fg share'];
  const widths = [5, 8, 8, 10, 10, 11, 10];
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('');
  for (const s of report.series) {
    const rows = report.rows.filter((r) => r.prompts === s.prompts && r.method === s.method);
    console.log(`\n${seriesName(s)} (${s.prompt_tokens} prompt tokens), means over ${heads} heads:`);
    console.log(line(headers));
    for (const layer of [...new Set(rows.map((r) => r.layer))]) {
      const inLayer = rows.filter((r) => r.layer === layer);
      const mean = HEAD_STATISTICS.map((k) => inLayer.reduce((sum, r) => sum + r[k], 0) / inLayer.length);
      const [ea, ec, dwo, dw, pm, fg] = mean as [number, number, number, number, number, number];
      console.log(
        line([
          String(layer),
          ea.toFixed(3),
          ec.toFixed(3),
          dwo.toFixed(1),
          dw.toFixed(1),
          `${(100 * pm).toFixed(1)}%`,
          `${(100 * fg).toFixed(1)}%`,
        ]),
      );
    }
  }
  console.log(`\nColumns: ${HEAD_STATISTICS.map((k) => STATISTIC_LABELS[k]).join('; ')}.`);
}
