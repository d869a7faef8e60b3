/**
 * Writes everything train.py reads into one work folder (maintainer tool; see README.md):
 *   template/            falip's random `tiny` folder with CLIP's BPE vocabulary: config.json, vocab.json,
 *                        merges.txt as falip writes them, and the tensor names and shapes to export to
 *   train/pixels.u8      the training pictures, N×224×224×3 bytes, resized exactly as falip's encoder does
 *   train/scenes.jsonl   per picture: size, shapes, pixel hash, and the captions naming each shape
 *   train/captions.json  every caption's token ids (falip's tokenizer) and what it says
 *   train/images.txt     the pictures' pixel hashes (first 12 hex digits), sorted: the manifest's list
 *   dev/                 a datasets root with the dev sets (demo/val, demo-cls/val) for checkpoint choice
 *
 *   node --import tsx tools/train-demo-model/prepare.ts --out scratch/train-demo-model [--images N]
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { writeClsDemoSet } from '../../src/tasks/classification/demo-cls.js';
import { writeDemoSet } from '../../src/tasks/rec/demo-set.js';
import { writeRandomModel } from '../../src/model/random-model.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { captionsFor, pixelHash, renderScene, trainingScene, type Caption } from './scenes.js';

/** The recipe's data: change these only with a new training run (README.md's table says why each). */
const DATA_RECIPE = {
  trainSeed: 1901,
  trainImages: 12000,
  singleShare: 0.25,
  devSeed: 1902,
  devRecImages: 96,
  devClsImages: 72,
} as const;

/** Leading hex digits of a pixel hash kept in the manifest: 48 bits: a chance collision with the ~10³ evaluation pictures is ~10⁻⁸. */
const HASH_PREFIX = 12;

const IMAGE_SIZE = 224;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      images: { type: 'string' },
      bpe: { type: 'string', default: 'test/fixtures/clip-bpe/bpe_simple_vocab_16e6.txt.gz' },
    },
  });
  if (!values.out) throw new Error('--out <dir> is required');
  const out = resolve(values.out);
  const images = values.images ? Number(values.images) : DATA_RECIPE.trainImages;
  const template = join(out, 'template');
  await writeRandomModel({ arch: 'tiny', seed: 0, out: template, bpe: values.bpe });
  const tokenizer = await ClipTokenizer.fromFiles(join(template, 'vocab.json'), join(template, 'merges.txt'));

  const devRoot = join(out, 'dev');
  await writeDemoSet(devRoot, { seed: DATA_RECIPE.devSeed, images: DATA_RECIPE.devRecImages });
  await writeClsDemoSet(devRoot, { seed: DATA_RECIPE.devSeed, images: DATA_RECIPE.devClsImages });

  const trainDir = join(out, 'train');
  await rm(trainDir, { recursive: true, force: true });
  await mkdir(trainDir, { recursive: true });
  const pixels = createWriteStream(join(trainDir, 'pixels.u8'));
  const scenes = createWriteStream(join(trainDir, 'scenes.jsonl'));
  const captions = new Map<string, Caption>();
  const hashes: string[] = [];
  const started = Date.now();
  for (let i = 0; i < images; i++) {
    const scene = trainingScene(DATA_RECIPE.trainSeed, i, { singleShare: DATA_RECIPE.singleShare });
    const png = await renderScene(scene);
    const hash = await pixelHash(png);
    hashes.push(hash.slice(0, HASH_PREFIX));
    // falip's preprocess: the whole picture to 224×224 (aspect ratio not kept), libvips' cubic kernel.
    const resized = await sharp(png)
      .removeAlpha()
      .resize(IMAGE_SIZE, IMAGE_SIZE, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
    if (!pixels.write(resized)) await new Promise((r) => pixels.once('drain', r));
    const perShape = scene.shapes.map((_, j) => captionsFor(scene, j));
    for (const c of perShape.flat()) captions.set(c.text, c);
    scenes.write(
      `${JSON.stringify({
        index: i,
        width: scene.width,
        height: scene.height,
        hash,
        shapes: scene.shapes.map((s, j) => ({
          colour: s.colour,
          shape: s.shape,
          box: s.box,
          where: perShape[j]!.find((c) => c.key.where)!.key.where,
        })),
        captions: perShape.map((cs) => cs.map((c) => c.text)),
      })}\n`,
    );
    if ((i + 1) % 2000 === 0)
      process.stderr.write(`${i + 1}/${images} pictures (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  await Promise.all([new Promise((r) => pixels.end(r)), new Promise((r) => scenes.end(r))]);
  const table = Object.fromEntries(
    [...captions.values()]
      .sort((a, b) => a.text.localeCompare(b.text))
      .map((c) => [c.text, { ids: tokenizer.encode(c.text), ...c.key, kind: c.kind }]),
  );
  await writeFile(join(trainDir, 'captions.json'), `${JSON.stringify(table, null, 1)}\n`);
  await writeFile(join(trainDir, 'images.txt'), `${[...hashes].sort().join('\n')}\n`);
  await writeFile(
    join(out, 'data.json'),
    `${JSON.stringify({ ...DATA_RECIPE, trainImages: images, imageSize: IMAGE_SIZE, hashPrefix: HASH_PREFIX, firstHashes: await firstHashes(5) }, null, 2)}\n`,
  );
  process.stderr.write(
    `wrote ${images} pictures, ${captions.size} captions, dev sets to ${out} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
  );
}

/** Full hashes of the stream's first pictures: the test redraws them to show the list still matches the renderer. */
async function firstHashes(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      await pixelHash(
        await renderScene(trainingScene(DATA_RECIPE.trainSeed, i, { singleShare: DATA_RECIPE.singleShare })),
      ),
    );
  return out;
}

await main();
