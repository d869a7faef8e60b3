import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { vizAttention, vizMethodNames } from '../analysis/viz-attention.js';
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
import { listValues, parseBox } from './parse.js';

interface VizAttentionFlags extends EncoderFlags {
  image: string;
  box?: string;
  method?: string[];
  showLayers: string[];
  showHeads?: string;
  text?: string;
  out: string;
  json?: boolean;
}

const COLOURS_HELP = `
Figures (in --out, each as .svg and a 2x .png):
  attention-layers-<L>   one per --show-layers selection: a column per method (the image as that
                         method's encoder sees it), a row per shown layer (its mean over heads, then
                         each --show-heads head). Colour = the CLS query's attention to each patch,
                         inferno from black (0) to pale yellow (the row's largest value, shown on the
                         right; one scale per row, so methods compare directly); CLS's attention to
                         itself is left out of the grid. Cyan outline = the box. Under each panel: the
                         share of CLS attention inside the box and on CLS itself.
  text-map-layers-<L>    with --text: each patch's contribution to the score 100*cos(image, text)
                         through the shown heads' value paths (Gandelsman et al.; ln_post taken as
                         linear at the final CLS's mean and std), summed over the selection's layers
                         (first row) and per layer; red = positive, blue = negative, opacity ~ |value|.
                         Under each panel: the map's total (CLS token included) and the whole score.
  viz.json               every number under the panels, and each method's score decomposition.

--show-layers/--show-heads choose what is drawn; --layers/--heads are the method's own parameters
(where FALIP's mask acts), as in every other command.

Example:
  falip viz attention --image img.png --box 40,30,120,90 --method plain,falip,redcircle --alpha 1 \\
    --show-layers 9-12 --show-heads 1,3 --text "a photo of a red square" --out viz/`;

export function register(program: Command): void {
  const viz = program.command('viz').description("figures of what CLIP's image encoder attends to");
  const attention = addEncoderOptions(
    viz
      .command('attention')
      .description(
        'CLS attention over the patch grid (and, with --text, the text-directed score map), methods side by side',
      ),
  )
    .requiredOption('--image <file>', 'image file (JPEG, PNG, WebP, ...)')
    .option('--box <x,y,w,h>', 'region in original pixels (needed by every method but plain)')
    .addOption(
      new Option(
        '--method <names...>',
        'methods, one column each, space- or comma-separated (default: plain,falip,redcircle with --box, plain without)',
      ),
    )
    .addOption(
      new Option(
        '--show-layers <selections...>',
        'layers to draw, 1-based ("9-12", "1,3,5-7", "last 4", "all"); one figure per selection',
      ).default(['last 4'], 'last 4'),
    )
    .option(
      '--show-heads <heads>',
      'heads drawn one by one below each layer\'s head mean, 1-based (e.g. "1,3"); the text map sums these heads (default: the mean only; all heads in the text map)',
    )
    .option('--text <caption>', 'also draw the text-directed map of this caption (e.g. "a photo of a red square")')
    .requiredOption('--out <dir>', 'folder for the figures and viz.json');
  addMethodParamOptions(attention)
    .addOption(makeOption('json'))
    .addHelpText('after', COLOURS_HELP)
    .action(async (o: VizAttentionFlags, command: Command) => {
      const names = vizMethodNames(listValues(o.method), Boolean(o.box));
      const methods = methodEntriesFromFlags(names, command);
      for (const e of methods) checkMethodEntry(e.name, e.params, '--method');
      const result = await vizAttention({
        image: o.image,
        box: o.box === undefined ? undefined : parseBox('--box', o.box),
        boxLabel: `--box ${o.box}`,
        methods,
        showLayers: o.showLayers,
        showHeads: o.showHeads,
        caption: o.text,
        open: () => openEncoder(encoderOptionsOf(o)),
      });
      await mkdir(o.out, { recursive: true });
      const files: string[] = [];
      for (const [stem, figure] of result.figures) {
        for (const [ext, data] of [
          ['svg', figure.svg],
          ['png', figure.png],
        ] as const) {
          const file = path.join(o.out, `${stem}.${ext}`);
          await writeFileAtomic(file, data);
          files.push(file);
        }
      }
      const summary = { ...result.summary, files };
      const summaryFile = path.join(o.out, 'viz.json');
      await writeFileAtomic(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
      if (o.json) return console.log(JSON.stringify(summary));
      for (const selection of summary.attention) {
        console.log(`layers ${selection.layers}: share of CLS attention inside the box (head mean)`);
        for (const p of selection.panels.filter((x) => x.head === 'mean')) {
          console.log(
            `  layer ${String(p.layer).padStart(2)}  ${p.method.padEnd(18)} ${p.in_box === null ? '  –' : `${(100 * p.in_box).toFixed(1).padStart(5)}%`}`,
          );
        }
      }
      for (const t of summary.text?.maps ?? []) {
        console.log(
          `text map ${t.method}, layers ${t.layers}, heads ${t.heads}: ${t.shown_heads_share.toFixed(3)} of score ${t.score.toFixed(3)} (all heads ${t.all_heads_share.toFixed(3)}, other terms ${t.other_terms.toFixed(3)})`,
        );
      }
      console.log(`\nfigures: ${[...files, summaryFile].join(', ')}`);
    });
}
