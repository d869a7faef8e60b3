import { Command, Option } from 'commander';
import { loadImage } from '../image/load-image.js';
import { writeNpy } from '../image/npy.js';
import { preprocess } from '../image/preprocess.js';
import { validateBox } from '../image/validate-box.js';
import { openEncoder } from '../encoder/open-encoder.js';
import { falipAttention } from '../prompts/falip.js';
import { UserError } from '../util/errors.js';
import { falipParamsFromFlags, type FalipFlags } from './falip-flags.js';
import { makeOption } from './options.js';
import { parseBox } from './parse.js';

interface ImageFlags extends FalipFlags {
  model: string;
  device: string;
  threads?: string;
  image: string;
  box?: string;
  method: 'plain' | 'falip';
  dumpPixels?: string;
  json?: boolean;
}

function printEmbedding(json: boolean | undefined, value: unknown, summary: string): void {
  console.log(json ? JSON.stringify(value) : summary);
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! ** 2;
  return Math.sqrt(s);
}

export function register(program: Command): void {
  const encode = program.command('encode').description('run the CLIP encoders on one input and print the embedding');

  encode
    .command('image')
    .description('image_embeds (not normalized) of an image, optionally with FALIP looking at a box')
    .addOption(makeOption('model'))
    .addOption(makeOption('device'))
    .addOption(makeOption('threads'))
    .addOption(makeOption('precision'))
    .requiredOption('--image <file>', 'image file (JPEG, PNG, WebP, ...)')
    .option('--box <x,y,w,h>', 'region in original pixels (needed by --method falip)')
    .addOption(new Option('--method <method>', 'plain CLIP or FALIP').choices(['plain', 'falip']).default('plain'))
    .addOption(makeOption('alpha'))
    .addOption(makeOption('sigma'))
    .addOption(makeOption('layers'))
    .addOption(makeOption('form'))
    .addOption(makeOption('heads'))
    .option('--dump-pixels <file.npy>', 'also write the preprocessed tensor (float32 [3,S,S]) as .npy')
    .addOption(makeOption('json'))
    .action(async (o: ImageFlags) => {
      if (o.method === 'falip' && !o.box) throw new UserError('--method falip needs --box x,y,w,h');
      const box = o.box === undefined ? undefined : parseBox('--box', o.box);
      const img = await loadImage(o.image);
      if (box) validateBox(box, img, `--box ${o.box}`);
      const { encoder } = await openEncoder(o);
      const v = encoder.config.vision;
      const pixels = await preprocess(img, v.imageSize);
      if (o.dumpPixels) await writeNpy(o.dumpPixels, pixels, [3, v.imageSize, v.imageSize]);
      const attention = o.method === 'falip' && box ? falipAttention(box, img.width, img.height, v, falipParamsFromFlags(o, v)) : undefined;
      const embedding = await encoder.image({ pixels, attention });
      printEmbedding(o.json, { embedding: Array.from(embedding) }, `image_embeds: ${embedding.length} values, norm ${norm(embedding).toFixed(4)}`);
    });

  encode
    .command('text <texts...>')
    .description('text_embeds (not normalized) of one or more texts, with their token ids')
    .addOption(makeOption('model'))
    .addOption(makeOption('device'))
    .addOption(makeOption('threads'))
    .addOption(makeOption('precision'))
    .addOption(makeOption('json'))
    .action(async (texts: string[], o: { model: string; device: string; threads?: string; json?: boolean }) => {
      const { encoder, tokenizer } = await openEncoder(o);
      const rows = await Promise.all(
        texts.map(async (text) => {
          const ids = tokenizer.encode(text, encoder.config.text.contextLength);
          return { text, ids, embedding: Array.from(await encoder.textEmbedding(ids)) };
        }),
      );
      if (o.json) return console.log(JSON.stringify(rows));
      for (const r of rows) console.log(`${JSON.stringify(r.text)}: ${r.ids.length} tokens, norm ${norm(r.embedding).toFixed(4)}`);
    });
}
