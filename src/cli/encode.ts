import type { Command } from 'commander';
import { DecodedImage } from '../encoder/image-input.js';
import { openEncoder } from '../encoder/open-encoder.js';
import { loadImage } from '../image/load-image.js';
import { writeNpy } from '../image/npy.js';
import { validateBox } from '../image/validate-box.js';
import { makeMethod } from '../prompts/method.js';
import { UserError } from '../util/errors.js';
import { methodEntriesFromFlags } from './method-flags.js';
import {
  addEncoderOptions,
  addMethodParamOptions,
  type EncoderFlags,
  encoderOptionsOf,
  makeOption,
} from './options.js';
import { parseBox } from './parse.js';

interface ImageFlags extends EncoderFlags {
  image: string;
  box?: string;
  method: string;
  dumpPixels?: string;
  json?: boolean;
}

/** Values shown without --json: enough to compare two runs by eye; --json prints all of them. */
const SHOWN_VALUES = 8;

/** "[-2.0333, 0.1250, …] (512 values, norm 9.8765)": the vector's first values, then its size and norm. */
function vectorText(v: ArrayLike<number>): string {
  const head = Array.from(v)
    .slice(0, SHOWN_VALUES)
    .map((x) => x.toFixed(4));
  return `[${head.join(', ')}${v.length > SHOWN_VALUES ? ', …' : ''}] (${v.length} values, norm ${norm(v).toFixed(4)})`;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! ** 2;
  return Math.sqrt(s);
}

export function register(program: Command): void {
  const encode = program.command('encode').description('run the CLIP encoders on one input and print the embedding');

  const image = addEncoderOptions(
    encode
      .command('image')
      .description('image_embeds (not normalized) of an image under a method looking at a box (plain CLIP by default)'),
  )
    .requiredOption('--image <file>', 'image file (JPEG, PNG, WebP, ...)')
    .option('--box <x,y,w,h>', 'region in original pixels (needed by every method but plain)')
    .option('--method <name>', 'a registered method (falip methods), e.g. falip or redcircle+falip', 'plain')
    .option('--dump-pixels <file.npy>', 'also write the preprocessed unedited tensor (float32 [3,S,S]) as .npy');
  addMethodParamOptions(image)
    .addOption(makeOption('json'))
    .action(async (o: ImageFlags, command: Command) => {
      if (o.method !== 'plain' && !o.box) throw new UserError(`--method ${o.method} needs --box x,y,w,h`);
      const [entry] = methodEntriesFromFlags([o.method], command);
      const given = o.box === undefined ? undefined : parseBox('--box', o.box);
      const img = await loadImage(o.image);
      const box = given ?? ([0, 0, img.width, img.height] as const);
      validateBox(box, img, `--box ${o.box}`);
      const { encoder } = await openEncoder(encoderOptionsOf(o));
      const method = makeMethod(entry!.name, entry!.params, encoder.config.vision, '--method');
      const input = new DecodedImage(o.image, img);
      if (o.dumpPixels) {
        const S = encoder.config.vision.imageSize;
        await writeNpy(o.dumpPixels, await input.pixels(S), [3, S, S]);
      }
      const embedding = await encoder.image(input, method.prepare({ width: img.width, height: img.height, box }));
      console.log(
        o.json ? JSON.stringify({ embedding: Array.from(embedding) }) : `image_embeds ${vectorText(embedding)}`,
      );
    });

  addEncoderOptions(
    encode
      .command('text <texts...>')
      .description('text_embeds (not normalized) of one or more texts, with their token ids'),
  )
    .addOption(makeOption('json'))
    .action(async (texts: string[], o: EncoderFlags & { json?: boolean }) => {
      const { encoder, tokenizer } = await openEncoder(encoderOptionsOf(o));
      const rows = await Promise.all(
        texts.map(async (text) => {
          const ids = tokenizer.encode(text, encoder.config.text.contextLength);
          return { text, ids, embedding: Array.from(await encoder.text(ids)) };
        }),
      );
      if (o.json) return console.log(JSON.stringify(rows));
      for (const r of rows)
        console.log(`${JSON.stringify(r.text)} (${r.ids.length} tokens): text_embeds ${vectorText(r.embedding)}`);
    });
}
