/**
 * The ONNX graphs, run through onnxruntime by the project's own encoder, against the independent
 * float64 reference (test/reference/clip-reference.ts) on the `tiny` architecture with random weights.
 *
 * Every comparison holds max|diff| / ‖reference embedding‖ < 1e-4 (TOL), end to end: the random
 * weights are tuned (src/model/random-weights.ts) so that float32 rounding stays well below it while the
 * foveal mask still moves the embedding measurably. The biased layers are also checked on their own, by
 * running the reference's suffix layers from the ONNX prefix's hidden state (the prefix graph is the
 * one the encoder uses for prefix sharing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoder } from '../../src/encoder/encoder.js';
import { createEncoder } from '../../src/encoder/open-encoder.js';
import type { AttentionBias } from '../../src/encoder/requests.js';
import { createSession, floatTensor } from '../../src/encoder/ort-session.js';
import type { BoxXYWH } from '../../src/image/box.js';
import { loadImage } from '../../src/image/load-image.js';
import { preprocess } from '../../src/image/preprocess.js';
import { boxToTokenRegion } from '../../src/image/token-grid.js';
import { visionTokens, type ClipConfig } from '../../src/model/clip-config.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import { visionGraph } from '../../src/model/graphs/vision-graph.js';
import type { WeightMap } from '../../src/model/tensor.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import type { MaskForm } from '../../src/prompts/falip-mask.js';
import { textForwardRef, visionForwardRef } from '../reference/clip-reference.js';
import { cosine, hiddenErr, relErr } from '../helpers/compare.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import { falipBias, gateRows, pixelInput } from '../helpers/requests.js';

const TOL = 1e-4;

function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return 1 - cosine(a, b);
}

const GRADIENTS =
  '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1040c0"/><stop offset="1" stop-color="#f0d020"/></linearGradient>' +
  '<radialGradient id="r"><stop offset="0" stop-color="#ffffff"/><stop offset="1" stop-color="#802010"/></radialGradient></defs>';

const IMAGES = [
  {
    name: 'landscape.png',
    width: 640,
    height: 480,
    shapes:
      '<circle cx="160" cy="140" r="90" fill="url(#r)"/><rect x="380" y="250" width="200" height="160" fill="#20a040"/>' +
      '<polygon points="300,40 360,200 240,200" fill="#e02070"/>',
  },
  {
    name: 'portrait.jpg',
    width: 300,
    height: 500,
    shapes:
      '<rect x="30" y="40" width="120" height="90" fill="#c03030"/><ellipse cx="200" cy="350" rx="80" ry="110" fill="url(#r)"/>' +
      '<line x1="0" y1="500" x2="300" y2="0" stroke="#000" stroke-width="12"/>',
  },
] as const;

async function writeImage(dir: string, spec: (typeof IMAGES)[number]): Promise<string> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${spec.width}" height="${spec.height}">${GRADIENTS}<rect width="${spec.width}" height="${spec.height}" fill="url(#g)"/>${spec.shapes}</svg>`;
  const file = path.join(dir, spec.name);
  const img = sharp(Buffer.from(svg));
  await (spec.name.endsWith('.png') ? img.png() : img.jpeg({ quality: 95 })).toFile(file);
  return file;
}

/** Boxes in original pixels of a W×H image: inside, touching each edge, one token, the whole image. */
function boxesFor(W: number, H: number): { label: string; box: BoxXYWH }[] {
  return [
    { label: 'inside', box: [0.3 * W, 0.35 * H, 0.3 * W, 0.25 * H] },
    { label: 'left edge', box: [0, 0.3 * H, 0.2 * W, 0.3 * H] },
    { label: 'top edge', box: [0.4 * W, 0, 0.2 * W, 0.2 * H] },
    { label: 'right edge', box: [0.8 * W, 0.4 * H, 0.2 * W, 0.2 * H] },
    { label: 'bottom edge', box: [0.3 * W, 0.8 * H, 0.3 * W, 0.2 * H] },
    // 3×3 px in the middle of token (row 8, column 6): tokens are W/14 × H/14 px, at least 21 px here.
    { label: '1x1 token', box: [(6.5 * W) / 14 - 1.5, (8.5 * H) / 14 - 1.5, 3, 3] },
    { label: 'whole image', box: [0, 0, W, H] },
  ];
}

const FORMS: readonly MaskForm[] = ['a', 'b', 'c'];

interface ImageCase {
  name: string;
  width: number;
  height: number;
  pixels: Float32Array;
  /** ONNX hidden state after layers 0..7 (the prefix graph the encoder shares across boxes). */
  onnxHidden8: Float32Array;
  /** Float64 reference hidden state after layers 0..7. */
  refHidden8: Float64Array;
  onnxPlain: Float32Array;
  refPlain: Float64Array;
  /** Keyed `${form}|${label}`. */
  falip: Map<string, { box: BoxXYWH; attention: AttentionBias; shared: Float32Array; unshared: Float32Array }>;
}

let cfg: ClipConfig;
let weights: WeightMap;
let modelDir: string;
let tmp: string;
let graphs: ModelGraphs;
let encoder: Encoder;
let unsharedEncoder: Encoder;
let tokenizer: ClipTokenizer;
const images: ImageCase[] = [];
const strictRefs = new Map<string, Float64Array>();

/**
 * The reference's layers 9-12 continued from the ONNX prefix's hidden state (memoized): without `key`
 * plain, else the FALIP case `${form}|${label}` of the image.
 */
function strictRef(c: ImageCase, key?: string): Float64Array {
  const memo = `${c.name}|${key ?? 'plain'}`;
  let ref = strictRefs.get(memo);
  if (!ref) {
    const attention = key === undefined ? undefined : c.falip.get(key)!.attention;
    ref = visionForwardRef(cfg, weights, c.pixels, {
      hiddenIn: Float64Array.from(c.onnxHidden8),
      startLayer: 8,
      ...(attention && { attnBias: attention.bias, biasGate: gateRows(attention.gate, cfg.vision.numHeads) }),
    }).imageEmbeds;
    strictRefs.set(memo, ref);
  }
  return ref;
}
const savedEnv = { models: process.env.FALIP_MODELS, datasets: process.env.FALIP_DATASETS };

/** The encoder's own prefix graph (layers [0, upTo), no bias), run on one image. */
async function onnxHidden(pixels: Float32Array, upTo: number, attention?: AttentionBias): Promise<Float32Array> {
  const S = cfg.vision.imageSize;
  const T = visionTokens(cfg.vision);
  const session = await createSession(
    await graphs.path(visionGraph, { from: 0, to: upTo, bias: attention !== undefined, capture: false }),
    { device: 'cpu' },
  );
  const feeds: Record<string, ReturnType<typeof floatTensor>> = { pixel_values: floatTensor(pixels, [1, 3, S, S]) };
  if (attention) {
    feeds.attn_bias = floatTensor(attention.bias, [1, attention.bias.length / (T * T), T, T]);
    feeds.bias_gate = floatTensor(attention.gate, [cfg.vision.numLayers, cfg.vision.numHeads]);
  }
  const out = await session.run(feeds);
  return out.hidden_out!.data as Float32Array;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'falip-onnx-ref-'));
  process.env.FALIP_MODELS = path.join(tmp, 'models');
  process.env.FALIP_DATASETS = path.join(tmp, 'datasets');
  ({ dir: modelDir, config: cfg, weights } = await tinyModel());
  graphs = await ModelGraphs.open({ name: 't', sourceDir: modelDir, cacheDir: path.join(tmp, 'cache') });
  encoder = createEncoder(graphs, { device: 'cpu', batchSize: 4 });
  unsharedEncoder = createEncoder(graphs, { device: 'cpu', batchSize: 4, prefixSharing: false });
  tokenizer = await ClipTokenizer.fromFiles(path.join(modelDir, 'vocab.json'), path.join(modelDir, 'merges.txt'));

  for (const spec of IMAGES) {
    const file = await writeImage(tmp, spec);
    const img = await loadImage(file);
    expect([img.width, img.height]).toEqual([spec.width, spec.height]);
    const pixels = await preprocess(img, cfg.vision.imageSize);
    const falip: ImageCase['falip'] = new Map();
    const jobs: Promise<void>[] = [];
    // Every box of every form at once: the encoder batches them and shares one prefix per image.
    for (const form of FORMS) {
      for (const { label, box } of boxesFor(img.width, img.height)) {
        const attention = falipBias(box, img.width, img.height, cfg.vision, { form });
        jobs.push(
          Promise.all([
            encoder.image(pixelInput(pixels, file), { attention }),
            unsharedEncoder.image(pixelInput(pixels), { attention }),
          ]).then(([shared, unshared]) => {
            falip.set(`${form}|${label}`, { box, attention, shared, unshared });
          }),
        );
      }
    }
    const [onnxPlain, onnxHidden8] = await Promise.all([
      encoder.image(pixelInput(pixels), {}),
      onnxHidden(pixels, 8),
      ...jobs,
    ]);
    const refHidden8 = visionForwardRef(cfg, weights, pixels, { endLayer: 8 }).hidden;
    const refPlain = visionForwardRef(cfg, weights, pixels, { hiddenIn: refHidden8, startLayer: 8 }).imageEmbeds;
    images.push({
      name: spec.name,
      width: img.width,
      height: img.height,
      pixels,
      onnxHidden8,
      refHidden8,
      onnxPlain,
      refPlain,
      falip,
    });
  }
});

afterAll(async () => {
  await removeTinyModels();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  for (const [key, value] of [
    ['FALIP_MODELS', savedEnv.models],
    ['FALIP_DATASETS', savedEnv.datasets],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('text tower', () => {
  const TEXTS = [
    '',
    'a cat',
    'a photo of a large red circle on a blue-yellow gradient, 3 shapes!',
    `${'lorem ipsum dolor sit amet '.repeat(12)}END`,
  ];

  it('tokenizes the empty string to SOT, EOT and truncates long text to 77 ending in EOT', () => {
    expect(tokenizer.encode('', 77)).toEqual([tokenizer.sotId, tokenizer.eotId]);
    const long = tokenizer.encode(TEXTS[3]!, 77);
    expect(long).toHaveLength(77);
    expect(long[0]).toBe(tokenizer.sotId);
    expect(long[76]).toBe(tokenizer.eotId);
  });

  it.each(TEXTS.map((t, i) => [i, t] as const))('text %i matches the float64 reference', async (_i, text) => {
    const ids = tokenizer.encode(text, cfg.text.contextLength);
    const onnx = await encoder.text(ids);
    expect(onnx).toHaveLength(cfg.projectionDim);
    expect(relErr(onnx, textForwardRef(cfg, weights, ids))).toBeLessThan(TOL);
  });

  it('batched texts of different lengths equal the unbatched ones', async () => {
    const ids = TEXTS.map((t) => tokenizer.encode(t, cfg.text.contextLength));
    expect(new Set(ids.map((i) => i.length)).size).toBe(TEXTS.length);
    const single: Float32Array[] = [];
    for (const i of ids) single.push(await encoder.text(i));
    const before = encoder.stats().batches;
    const batched = await Promise.all(ids.map((i) => encoder.text(i)));
    expect(encoder.stats().batches - before).toBe(1); // one padded batch of 4
    batched.forEach((b, k) => {
      expect(relErr(b, single[k]!)).toBeLessThan(1e-6);
    });
  });
});

describe('plain image', () => {
  it.each(IMAGES.map((s) => s.name))('%s: image_embeds match the float64 reference', (name) => {
    const c = images.find((i) => i.name === name)!;
    expect(c.onnxPlain).toHaveLength(cfg.projectionDim);
    // The prefix graph's hidden state is float32-exact (no chaos yet), the suffix strict from it.
    expect(hiddenErr(c.onnxHidden8, c.refHidden8)).toBeLessThan(TOL);
    expect(relErr(c.onnxPlain, strictRef(c))).toBeLessThan(TOL);
    expect(relErr(c.onnxPlain, c.refPlain)).toBeLessThan(TOL);
  });

  it('batched images equal unbatched ones', async () => {
    const before = encoder.stats().batches;
    const batched = await Promise.all(images.map((c) => encoder.image(pixelInput(c.pixels), {})));
    expect(encoder.stats().batches - before).toBe(1);
    batched.forEach((b, k) => {
      expect(relErr(b, images[k]!.onnxPlain)).toBeLessThan(1e-6);
    });
  });
});

describe('FALIP forms a, b, c', () => {
  const cases = IMAGES.flatMap((img) =>
    FORMS.flatMap((form) => boxesFor(img.width, img.height).map(({ label }) => [img.name, form, label] as const)),
  );

  it('the 1x1-token boxes cover exactly one token and the edge boxes reach their edge', () => {
    const G = cfg.vision.imageSize / cfg.vision.patchSize;
    for (const c of images) {
      const byLabel = new Map(
        boxesFor(c.width, c.height).map((b) => [
          b.label,
          boxToTokenRegion(b.box, c.width, c.height, cfg.vision.imageSize, cfg.vision.patchSize),
        ]),
      );
      const one = byLabel.get('1x1 token')!;
      expect([one.c1 - one.c0, one.r1 - one.r0]).toEqual([0, 0]);
      expect(byLabel.get('left edge')!.c0).toBe(0);
      expect(byLabel.get('top edge')!.r0).toBe(0);
      expect(byLabel.get('right edge')!.c1).toBe(G - 1);
      expect(byLabel.get('bottom edge')!.r1).toBe(G - 1);
      expect(byLabel.get('whole image')).toEqual({ c0: 0, r0: 0, c1: G - 1, r1: G - 1 });
    }
  });

  it.each(cases)('%s form %s, %s box: with and without prefix sharing', (name, form, label) => {
    const c = images.find((i) => i.name === name)!;
    const r = c.falip.get(`${form}|${label}`)!;
    // Strict: the biased layers 9-12 of the reference, continued from the ONNX prefix's hidden state.
    const ref = strictRef(c, `${form}|${label}`);
    expect(relErr(r.shared, ref)).toBeLessThan(TOL);
    expect(relErr(r.unshared, ref)).toBeLessThan(TOL);
    // The layer-0 variant computes the same unbiased prefix: both paths give the same embedding. For
    // form a the shared path also takes layer 9's CLS row from a one-row product (the CLS-row split),
    // which sums in another order: agreement to float32 rounding, not bit for bit.
    expect(relErr(r.unshared, r.shared)).toBeLessThan(form === 'a' ? 1e-5 : 1e-6);
  });

  it.each(IMAGES.flatMap((img) => FORMS.map((form) => [img.name, form] as const)))(
    '%s form %s: end to end against the float64 reference (inside box)',
    (name, form) => {
      const c = images.find((i) => i.name === name)!;
      const r = c.falip.get(`${form}|inside`)!;
      const ref = visionForwardRef(cfg, weights, c.pixels, {
        hiddenIn: c.refHidden8,
        startLayer: 8,
        attnBias: r.attention.bias,
        biasGate: gateRows(r.attention.gate, cfg.vision.numHeads),
      }).imageEmbeds;
      expect(relErr(r.shared, ref)).toBeLessThan(TOL);
    },
  );
});

describe('other layer selections', () => {
  it.each(IMAGES.map((s) => s.name))("%s: layers '12' (prefix of 11 layers)", async (name) => {
    const c = images.find((i) => i.name === name)!;
    const box = boxesFor(c.width, c.height)[0]!.box;
    const attention = falipBias(box, c.width, c.height, cfg.vision, { layers: '12' });
    expect(Array.from(attention.gate).findIndex((g) => g !== 0)).toBe(11 * cfg.vision.numHeads);
    const [shared, unshared, hidden11] = await Promise.all([
      encoder.image(pixelInput(c.pixels, c.name), { attention }),
      unsharedEncoder.image(pixelInput(c.pixels), { attention }),
      onnxHidden(c.pixels, 11),
    ]);
    const biasGate = gateRows(attention.gate, cfg.vision.numHeads);
    const strict = visionForwardRef(cfg, weights, c.pixels, {
      hiddenIn: Float64Array.from(hidden11),
      startLayer: 11,
      attnBias: attention.bias,
      biasGate,
    });
    expect(relErr(shared, strict.imageEmbeds)).toBeLessThan(TOL);
    expect(relErr(unshared, strict.imageEmbeds)).toBeLessThan(TOL);
    const e2e = visionForwardRef(cfg, weights, c.pixels, {
      hiddenIn: c.refHidden8,
      startLayer: 8,
      attnBias: attention.bias,
      biasGate,
    });
    expect(relErr(shared, e2e.imageEmbeds)).toBeLessThan(TOL);
    // Only the last layer is biased: not the same as the default 9-12.
    expect(relErr(shared, c.falip.get('a|inside')!.shared)).toBeGreaterThan(TOL);
  });

  it.each(IMAGES.map((s) => s.name))("%s: layers '1-4' (bias from the first layer, no prefix)", async (name) => {
    const c = images.find((i) => i.name === name)!;
    const box = boxesFor(c.width, c.height)[0]!.box;
    const attention = falipBias(box, c.width, c.height, cfg.vision, { layers: '1-4' });
    const [shared, unshared, hidden4] = await Promise.all([
      encoder.image(pixelInput(c.pixels, c.name), { attention }),
      unsharedEncoder.image(pixelInput(c.pixels), { attention }),
      onnxHidden(c.pixels, 4, attention),
    ]);
    expect(relErr(unshared, shared)).toBeLessThan(1e-6);
    const biasGate = gateRows(attention.gate, cfg.vision.numHeads);
    const ref4 = visionForwardRef(cfg, weights, c.pixels, { endLayer: 4, attnBias: attention.bias, biasGate });
    // Strict on the biased layers' output; the unbiased state after layer 4 differs by far more.
    expect(hiddenErr(hidden4, ref4.hidden)).toBeLessThan(TOL);
    const plain4 = visionForwardRef(cfg, weights, c.pixels, { endLayer: 4 }).hidden;
    expect(hiddenErr(plain4, ref4.hidden)).toBeGreaterThan(10 * TOL);
    const e2e = visionForwardRef(cfg, weights, c.pixels, {
      hiddenIn: ref4.hidden,
      startLayer: 4,
      attnBias: attention.bias,
      biasGate,
    });
    expect(relErr(shared, e2e.imageEmbeds)).toBeLessThan(TOL);
  });
});

describe('the mask matters', () => {
  it('FALIP moves the embedding by a cosine distance > 1e-3 for some box (reference and ONNX)', () => {
    let refMax = 0;
    let onnxMax = 0;
    for (const c of images) {
      const refPlain = strictRef(c);
      for (const [key, r] of c.falip) {
        const ref = strictRef(c, key);
        refMax = Math.max(refMax, cosineDistance(ref, refPlain));
        onnxMax = Math.max(onnxMax, cosineDistance(r.shared, c.onnxPlain));
      }
    }
    expect(strictRefs.size).toBe(images.length * (1 + FORMS.length * boxesFor(1, 1).length));
    expect(refMax).toBeGreaterThan(1e-3);
    expect(onnxMax).toBeGreaterThan(1e-3);
  });

  // Form a moved from the CLS query row into the CLS key column; form b from key columns into query rows.
  it.each([
    ['landscape.png', 'a', 'whole image'],
    ['portrait.jpg', 'b', 'inside'],
  ] as const)(
    '%s form %s, %s box: a misplaced (transposed) mask is rejected by the comparison',
    async (name, form, label) => {
      const c = images.find((i) => i.name === name)!;
      const r = c.falip.get(`${form}|${label}`)!;
      const T = visionTokens(cfg.vision);
      const transposed = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) transposed[j * T + i] = r.attention.bias[i * T + j]!;
      expect(transposed).not.toEqual(r.attention.bias);
      if (form === 'a') {
        expect(transposed.subarray(1, T).every((x) => x === 0)).toBe(true); // row 0 is now empty...
        expect(transposed[5 * T]).toBeGreaterThan(0); // ...and column 0 holds the values
      }
      const misplaced = await encoder.image(pixelInput(c.pixels, c.name), {
        attention: { bias: transposed, gate: r.attention.gate },
      });
      const correctRef = strictRef(c, `${form}|${label}`);
      expect(relErr(r.shared, correctRef)).toBeLessThan(TOL);
      expect(relErr(misplaced, correctRef)).toBeGreaterThan(TOL);
      // ...while the misplaced mask is itself computed faithfully: the difference is the placement.
      const biasGate = gateRows(r.attention.gate, cfg.vision.numHeads);
      const misplacedRef = visionForwardRef(cfg, weights, c.pixels, {
        hiddenIn: Float64Array.from(c.onnxHidden8),
        startLayer: 8,
        attnBias: transposed,
        biasGate,
      });
      expect(relErr(misplaced, misplacedRef.imageEmbeds)).toBeLessThan(TOL);
    },
  );
});
