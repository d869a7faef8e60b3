/**
 * The ablation paths of the encoder and the ablation prompts (Tables 1, 4, 5) against the float64
 * reference on the tiny model. "Prompted" stands for the RedCircle image: a second random image that
 * an edit substitutes, so both streams are real preprocessed images.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder } from '../../src/encoder/open-encoder.js';
import type { ClsCapture, Encoder, ImageInput } from '../../src/encoder/encoder.js';
import { DecodedImage } from '../../src/encoder/image-input.js';
import type { AttentionBias, EncodeRequest, ImageEdit, TokenScaleSite } from '../../src/encoder/requests.js';
import type { BoxXYWH } from '../../src/image/box.js';
import { preprocess } from '../../src/image/preprocess.js';
import { boxToTokenRegion, regionTokens, type TokenRegion } from '../../src/image/token-grid.js';
import { gridSize, visionTokens, type ClipConfig } from '../../src/model/clip-config.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import type { WeightMap } from '../../src/model/tensor.js';
import { makeMethod } from '../../src/prompts/method.js';
import { UserError } from '../../src/util/errors.js';
import path from 'node:path';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import {
  twoStreamForwardRef,
  unleashRef,
  visionForwardRef,
  type VisionRefResult,
} from '../reference/clip-reference.js';
import { relErr } from '../helpers/compare.js';
import { gateRows, randomImage } from '../helpers/requests.js';

/** Graph (float32) vs reference (float64): max|diff| / ‖reference‖, end to end. */
const TOL = 1e-4;
/** Two graph paths that compute the same thing in the same float32 order agree bit for bit; allow LN rounding. */
const SAME = 1e-6;
/** An ablation that changes the embedding by less than this relative amount counts as a no-op (they move it by 0.17..0.7). */
const CHANGED = 1e-2;

function refOptions(attention: AttentionBias, heads: number) {
  return { attnBias: attention.bias, biasGate: gateRows(attention.gate, heads) };
}

function layerFlags(layers: number[], count: number): boolean[] {
  return Array.from({ length: count }, (_, l) => layers.includes(l));
}

// A 640×480 image: one box of many tokens, one of a single token near the border.
const IMAGE_W = 640;
const IMAGE_H = 480;
const BOXES: BoxXYWH[] = [
  [100, 50, 200, 350],
  [600, 440, 20, 20],
];
/** FALIP's layers (9-12 of 12), where the paper's ablations act by our choice. */
const LAST4 = [8, 9, 10, 11];

let cfg: ClipConfig;
let weights: WeightMap;
let encoder: Encoder;
let input: ImageInput;
/** The edit that turns the original into the prompted image (stands for RedCircle). */
let toPrompted: ImageEdit;
let toOriginal: ImageEdit;
let original: Float32Array;
let prompted: Float32Array;
let regions: TokenRegion[];
let falip: AttentionBias[];
let H: number;
let L: number;
let T: number;
let plainRef: VisionRefResult;
let promptedRef: VisionRefResult;

beforeAll(async () => {
  const tiny = await tinyModel();
  ({ config: cfg, weights } = tiny);
  const graphs = await ModelGraphs.open({ name: 'tiny', sourceDir: tiny.dir, cacheDir: path.join(tiny.root, 'cache') });
  encoder = createEncoder(graphs, { device: 'cpu', threads: 2, batchSize: 4 });
  const v = cfg.vision;
  ({ numHeads: H, numLayers: L } = v);
  T = visionTokens(v);
  const originalRgb = randomImage(IMAGE_W, IMAGE_H, 11);
  const promptedRgb = randomImage(IMAGE_W, IMAGE_H, 12);
  input = new DecodedImage('original', originalRgb);
  toPrompted = { key: 'prompted', apply: async () => promptedRgb };
  toOriginal = { key: 'same image', apply: async () => originalRgb };
  [original, prompted] = await Promise.all([
    preprocess(originalRgb, v.imageSize),
    preprocess(promptedRgb, v.imageSize),
  ]);
  regions = BOXES.map((b) => boxToTokenRegion(b, IMAGE_W, IMAGE_H, v.imageSize, v.patchSize));
  falip = BOXES.map(
    (box) => makeMethod('falip', {}, v, 'test').prepare({ width: IMAGE_W, height: IMAGE_H, box }).attention!,
  );
  plainRef = visionForwardRef(cfg, weights, original);
  promptedRef = visionForwardRef(cfg, weights, prompted);
});

afterAll(() => removeTinyModels());

function expectCaptureMatches(c: ClsCapture, ref: VisionRefResult): void {
  expect(relErr(c.imageEmbeds, ref.imageEmbeds)).toBeLessThan(TOL);
  expect(relErr(c.clsResidual, ref.clsResidual)).toBeLessThan(TOL);
  expect(relErr(c.clsHeadOut, ref.clsHeadOut)).toBeLessThan(TOL);
  expect(relErr(c.clsAttn, ref.clsAttn)).toBeLessThan(TOL);
}

/** The region mask of the feature-mask ablation: 1 on CLS and the region's tokens. */
function regionScale(region: TokenRegion): Float32Array {
  const scale = new Float32Array(T);
  scale[0] = 1;
  for (const t of regionTokens(region, gridSize(cfg.vision))) scale[t] = 1;
  return scale;
}

const embed = (request: EncodeRequest) => encoder.image(input, request);

describe('capture', () => {
  it('matches the reference without and with a FALIP bias (batched together)', async () => {
    const [plain, ...boxed] = await Promise.all([
      encoder.capture(input, {}),
      ...falip.map((attention) => encoder.capture(input, { attention })),
    ]);
    expectCaptureMatches(plain, plainRef);
    boxed.forEach((c, i) => {
      const ref = visionForwardRef(cfg, weights, original, refOptions(falip[i]!, H));
      expectCaptureMatches(c, ref);
      // The bias reached the graph: in the first biased layer, before rounding is amplified, it moves
      // the CLS attention far more than the graph's error.
      const l = LAST4[0]!;
      const first = (a: Float32Array | Float64Array) => a.subarray(l * H * T, (l + 1) * H * T);
      expect(relErr(first(c.clsAttn), first(plainRef.clsAttn))).toBeGreaterThan(
        10 * relErr(first(c.clsAttn), first(ref.clsAttn)),
      );
    });
  });

  it("of an edited image is the edited image's", async () => {
    expectCaptureMatches(await encoder.capture(input, { edit: toPrompted }), promptedRef);
  });
});

describe('unleash', () => {
  it('with weight 1 is the prompted image unchanged', async () => {
    const embeds = await embed({ edit: toPrompted, ablation: { kind: 'unleash', layers: LAST4, headWeight: 1 } });
    expect(relErr(embeds, await encoder.image(input, { edit: toPrompted }))).toBeLessThan(SAME);
    expect(relErr(embeds, promptedRef.imageEmbeds)).toBeLessThan(TOL);
  });

  it('with weight 2 on layers 9–12 (and per-head weights) matches unleashRef and changes the embedding', async () => {
    const method = makeMethod('redcircle+unleash', {}, cfg.vision, 'test');
    expect(method.params.layers).toEqual(LAST4);
    expect(method.params.head_weight).toBe(2);
    for (const w of [2, [2, 0.5, 1, 3]]) {
      const embeds = await embed({ edit: toPrompted, ablation: { kind: 'unleash', layers: LAST4, headWeight: w } });
      const ref = unleashRef(cfg, weights, plainRef, promptedRef, LAST4, typeof w === 'number' ? Array(H).fill(w) : w);
      expect(relErr(embeds, ref)).toBeLessThan(TOL);
      expect(relErr(embeds, promptedRef.imageEmbeds)).toBeGreaterThan(CHANGED);
    }
  });

  it('needs a part that edits the image', () => {
    expect(() => makeMethod('unleash', {}, cfg.vision, 'test')).toThrow(
      /unleash needs a part that sets the image edit/,
    );
  });
});

describe('feature mask', () => {
  it('the prompt keeps CLS and exactly the region, in the last 4 layers at the residual stream', () => {
    const request = makeMethod('feature-mask', {}, cfg.vision, 'test').prepare({
      width: IMAGE_W,
      height: IMAGE_H,
      box: BOXES[0]!,
    });
    expect(request.ablation).toEqual({
      kind: 'token-scale',
      scale: regionScale(regions[0]!),
      site: 'residual',
      layers: LAST4,
    });
    const kept = new Set([0, ...regionTokens(regions[0]!, gridSize(cfg.vision))]);
    regionScale(regions[0]!).forEach((s, t) => {
      expect(s).toBe(kept.has(t) ? 1 : 0);
    });
  });

  it.each<TokenScaleSite>(['residual', 'attn-input'])(
    'at %s matches the reference and changes the embedding',
    async (site) => {
      const scales = regions.map(regionScale);
      const embeds = await Promise.all(
        scales.map((scale) => embed({ ablation: { kind: 'token-scale', scale, site, layers: LAST4 } })),
      );
      embeds.forEach((e, i) => {
        const ref = visionForwardRef(cfg, weights, original, {
          tokenScale: scales[i],
          tokenScaleLayers: layerFlags(LAST4, L),
          tokenScaleAt: site,
        });
        expect(relErr(e, ref.imageEmbeds)).toBeLessThan(TOL);
        expect(relErr(e, plainRef.imageEmbeds)).toBeGreaterThan(CHANGED);
      });
    },
  );

  it('with every token kept is the plain (biased) embedding, at both sites', async () => {
    const ones = new Float32Array(T).fill(1);
    const plain = await encoder.capture(input, { attention: falip[0] });
    for (const site of ['residual', 'attn-input'] as const) {
      expect(
        relErr(
          await embed({ attention: falip[0], ablation: { kind: 'token-scale', scale: ones, site, layers: [0, 11] } }),
          plain.imageEmbeds,
        ),
      ).toBeLessThan(SAME);
    }
  });

  it('combines with an attention bias', async () => {
    const scale = regionScale(regions[0]!);
    const layers = [5, 11];
    const e = await embed({
      attention: falip[0],
      ablation: { kind: 'token-scale', scale, site: 'attn-input', layers },
    });
    const ref = visionForwardRef(cfg, weights, original, {
      ...refOptions(falip[0]!, H),
      tokenScale: scale,
      tokenScaleLayers: layerFlags(layers, L),
      tokenScaleAt: 'attn-input',
    });
    expect(relErr(e, ref.imageEmbeds)).toBeLessThan(TOL);
  });
});

describe('two-stream q/k/v replacement', () => {
  it('"replace v" (q,k from the RedCircle image, v from the original) matches the reference', async () => {
    const e = await embed({
      edit: toPrompted,
      ablation: { kind: 'two-stream', probabilitiesFrom: 'edited', layers: LAST4 },
    });
    const ref = twoStreamForwardRef(cfg, weights, original, prompted, { swapLayers: layerFlags(LAST4, L) });
    expect(relErr(e, ref)).toBeLessThan(TOL);
    expect(relErr(e, plainRef.imageEmbeds)).toBeGreaterThan(CHANGED);
  });

  it('"replace q,k" (q,k from the original with the foveal mask, v from the RedCircle image) matches the reference', async () => {
    const e = await embed({
      edit: toPrompted,
      attention: falip[0],
      ablation: { kind: 'two-stream', probabilitiesFrom: 'original', layers: LAST4 },
    });
    const ref = twoStreamForwardRef(cfg, weights, prompted, original, {
      swapLayers: layerFlags(LAST4, L),
      ...refOptions(falip[0]!, H),
    });
    expect(relErr(e, ref)).toBeLessThan(TOL);
    expect(relErr(e, promptedRef.imageEmbeds)).toBeGreaterThan(CHANGED);
  });

  it('with the same image in both streams and the swap on the biased layers is the biased single stream', async () => {
    // The streams agree up to the first biased layer; from there both use the biased probabilities.
    const embeds = await embed({
      edit: toOriginal,
      attention: falip[0],
      ablation: { kind: 'two-stream', probabilitiesFrom: 'original', layers: LAST4 },
    });
    expect(relErr(embeds, (await encoder.capture(input, { attention: falip[0] })).imageEmbeds)).toBeLessThan(SAME);
  });

  it('the prompts build these requests: replace-v = RedCircle + probabilities from it; replace-qk adds the foveal mask', () => {
    const ctx = { width: IMAGE_W, height: IMAGE_H, box: BOXES[0]! };
    const v = makeMethod('replace-v', {}, cfg.vision, 'test').prepare(ctx);
    expect(v.edit?.key).toMatch(/^redcircle /);
    expect(v.attention).toBeUndefined();
    expect(v.ablation).toEqual({ kind: 'two-stream', probabilitiesFrom: 'edited', layers: LAST4 });
    const qk = makeMethod('replace-qk', {}, cfg.vision, 'test').prepare(ctx);
    expect(qk.attention).toEqual(falip[0]);
    expect(qk.ablation).toEqual({ kind: 'two-stream', probabilitiesFrom: 'original', layers: LAST4 });
  });
});

describe('PASTA', () => {
  const pasta = (params: Record<string, unknown>, box: BoxXYWH) =>
    makeMethod('pasta', params, cfg.vision, 'test').prepare({ width: IMAGE_W, height: IMAGE_H, box }).attention!;

  it('scales attention to keys outside the region by the coefficient, CLS kept', () => {
    const grid = gridSize(cfg.vision);
    const inside = new Set([0, ...regionTokens(regions[0]!, grid)]);
    const { bias, gate } = pasta({ coefficient: 0.1, heads: '2' }, BOXES[0]!);
    for (const q of [0, 1, T - 1]) {
      for (let k = 0; k < T; k++) expect(bias[q * T + k]).toBeCloseTo(inside.has(k) ? 0 : Math.log(0.1), 6);
    }
    const gated = [...gate.keys()].filter((i) => gate[i] === 1).map((i) => [Math.floor(i / H), i % H]);
    expect(gated).toEqual(LAST4.map((l) => [l, 1]));
  });

  it('rejects a coefficient that is not positive', () => {
    expect(() => pasta({ coefficient: 0 }, BOXES[0]!)).toThrow(UserError);
    expect(() => pasta({ coefficient: 0 }, BOXES[0]!)).toThrow(/test: coefficient: expected a number above 0/);
  });

  it('matches the reference with a per-head gate and changes the embedding', async () => {
    const steer = BOXES.map((b) => pasta({ heads: '1,3', layers: '7,11,12' }, b));
    const captures = await Promise.all(steer.map((attention) => encoder.capture(input, { attention })));
    captures.forEach((c, i) => {
      const ref = visionForwardRef(cfg, weights, original, refOptions(steer[i]!, H));
      expect(relErr(c.imageEmbeds, ref.imageEmbeds)).toBeLessThan(TOL);
      expect(relErr(c.clsAttn, ref.clsAttn)).toBeLessThan(TOL);
      expect(relErr(c.imageEmbeds, plainRef.imageEmbeds)).toBeGreaterThan(CHANGED);
    });
  });
});
