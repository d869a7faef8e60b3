/**
 * The ablation encoders and prompts (Tables 1, 4, 5) against the float64 reference on the tiny model.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AblationEncoder, type ClsCapture } from '../src/encoder/ablation-encoder.js';
import type { AttentionBias } from '../src/encoder/clip-encoder.js';
import type { BoxXYWH } from '../src/image/box.js';
import { boxToTokenRegion, regionTokens, type TokenRegion } from '../src/image/token-grid.js';
import { gridSize, visionTokens, type ClipConfig } from '../src/model/clip-config.js';
import { ModelGraphs } from '../src/model/graph-cache.js';
import type { TokenScaleSite } from '../src/model/onnx/vision-graph.js';
import type { WeightMap } from '../src/model/tensor.js';
import { defaultFalipParams, falipAttention } from '../src/prompts/falip.js';
import { FEATURE_MASK_DEFAULTS, regionTokenScale } from '../src/prompts/feature-mask.js';
import { pastaAttention } from '../src/prompts/pasta.js';
import { UNLEASH_DEFAULTS, unleashResidual } from '../src/prompts/unleash.js';
import { UserError } from '../src/util/errors.js';
import { removeTinyModels, tinyModel } from './helpers/tiny-model.js';
import { twoStreamForwardRef, unleashRef, visionForwardRef, type VisionRefResult } from './reference/clip-reference.js';
import { relErr } from './helpers/compare.js';

/** Graph (float32) vs reference (float64): max|diff| / ‖reference‖, end to end. */
const TOL = 1e-4;
/** Two graph paths that compute the same thing in the same float32 order agree bit for bit; allow LN rounding. */
const SAME = 1e-6;
/** An ablation that changes the embedding by less than this relative amount counts as a no-op (they move it by 0.17..0.7). */
const CHANGED = 1e-2;

/** mulberry32: seeded pixels in [-2, 2], the range of CLIP-normalized images. */
function randomPixels(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = 4 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 2;
  }
  return out;
}

/** The reference's gate form: gate[l][h]. */
function gateRows(gate: Float32Array, heads: number): number[][] {
  return Array.from({ length: gate.length / heads }, (_, l) => Array.from(gate.subarray(l * heads, (l + 1) * heads)));
}

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

let cfg: ClipConfig;
let weights: WeightMap;
let encoder: AblationEncoder;
let original: Float32Array;
let prompted: Float32Array; // stands for the RedCircle image
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
  encoder = new AblationEncoder(graphs, { device: 'cpu', threads: 2, batchSize: 4 });
  const v = cfg.vision;
  ({ numHeads: H, numLayers: L } = v);
  T = visionTokens(v);
  original = randomPixels(3 * v.imageSize ** 2, 11);
  prompted = randomPixels(3 * v.imageSize ** 2, 12);
  regions = BOXES.map((b) => boxToTokenRegion(b, IMAGE_W, IMAGE_H, v.imageSize, v.patchSize));
  falip = BOXES.map((b) => falipAttention(b, IMAGE_W, IMAGE_H, v, defaultFalipParams(v)));
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

describe('AblationEncoder.capture and projectCls', () => {
  it('match the reference without and with a FALIP bias (batched together)', async () => {
    const [plain, ...boxed] = await Promise.all([encoder.capture(original), ...falip.map((a) => encoder.capture(original, a))]);
    expectCaptureMatches(plain!, plainRef);
    boxed.forEach((c, i) => {
      const ref = visionForwardRef(cfg, weights, original, refOptions(falip[i]!, H));
      expectCaptureMatches(c, ref);
      // The bias reached the graph: in the first biased layer, before rounding is amplified, it moves
      // the CLS attention far more than the graph's error.
      const l = defaultFalipParams(cfg.vision).layers[0]!;
      const first = (a: Float32Array | Float64Array) => a.subarray(l * H * T, (l + 1) * H * T);
      expect(relErr(first(c.clsAttn), first(plainRef.clsAttn))).toBeGreaterThan(10 * relErr(first(c.clsAttn), first(ref.clsAttn)));
    });
  });

  it('projectCls of the captured CLS residual gives image_embeds', async () => {
    const c = await encoder.capture(original, falip[0]);
    expect(relErr(await encoder.projectCls(c.clsResidual), c.imageEmbeds)).toBeLessThan(SAME);
  });
});

describe('unleash', () => {
  it('with weight 1 is the prompted image unchanged', async () => {
    const [g, gPrime] = await Promise.all([encoder.capture(original), encoder.capture(prompted)]);
    const dims = { L, H, D: cfg.vision.hiddenSize };
    const embeds = await encoder.projectCls(unleashResidual(g, gPrime, UNLEASH_DEFAULTS.layers(cfg.vision), 1, dims));
    expect(relErr(embeds, gPrime.imageEmbeds)).toBeLessThan(SAME);
    expect(relErr(embeds, promptedRef.imageEmbeds)).toBeLessThan(TOL);
  });

  it('with weight 2 on layers 9–12 (and per-head weights) matches unleashRef and changes the embedding', async () => {
    const [g, gPrime] = await Promise.all([encoder.capture(original), encoder.capture(prompted)]);
    const dims = { L, H, D: cfg.vision.hiddenSize };
    const layers = UNLEASH_DEFAULTS.layers(cfg.vision);
    expect(layers).toEqual([8, 9, 10, 11]);
    const perHead = [2, 0.5, 1, 3];
    for (const w of [UNLEASH_DEFAULTS.headWeight, perHead]) {
      const embeds = await encoder.projectCls(unleashResidual(g, gPrime, layers, w, dims));
      const ref = unleashRef(cfg, weights, plainRef, promptedRef, layers, typeof w === 'number' ? Array(H).fill(w) : w);
      expect(relErr(embeds, ref)).toBeLessThan(TOL);
      expect(relErr(embeds, promptedRef.imageEmbeds)).toBeGreaterThan(CHANGED);
    }
  });
});

describe('feature mask', () => {
  it('regionTokenScale keeps CLS and exactly the region', () => {
    const grid = gridSize(cfg.vision);
    const scale = regionTokenScale(regions[0]!, grid);
    const kept = new Set([0, ...regionTokens(regions[0]!, grid)]);
    expect(scale.length).toBe(T);
    scale.forEach((s, t) => expect(s).toBe(kept.has(t) ? 1 : 0));
  });

  it.each<TokenScaleSite>(['residual', 'attn-input'])('at %s matches the reference and changes the embedding', async (site) => {
    const grid = gridSize(cfg.vision);
    const layers = FEATURE_MASK_DEFAULTS.layers(cfg.vision);
    const scales = regions.map((r) => regionTokenScale(r, grid));
    const embeds = await Promise.all(scales.map((s) => encoder.featureMasked(original, s, layers, site)));
    embeds.forEach((e, i) => {
      const ref = visionForwardRef(cfg, weights, original, { tokenScale: scales[i], tokenScaleLayers: layerFlags(layers, L), tokenScaleAt: site });
      expect(relErr(e, ref.imageEmbeds)).toBeLessThan(TOL);
      expect(relErr(e, plainRef.imageEmbeds)).toBeGreaterThan(CHANGED);
    });
  });

  it('with every token kept is the plain (biased) embedding, at both sites', async () => {
    const ones = new Float32Array(T).fill(1);
    const plain = await encoder.capture(original, falip[0]);
    for (const site of ['residual', 'attn-input'] as const) {
      expect(relErr(await encoder.featureMasked(original, ones, [0, 11], site, falip[0]), plain.imageEmbeds)).toBeLessThan(SAME);
    }
  });

  it('combines with an attention bias', async () => {
    const scale = regionTokenScale(regions[0]!, gridSize(cfg.vision));
    const layers = [5, 11];
    const e = await encoder.featureMasked(original, scale, layers, 'attn-input', falip[0]);
    const ref = visionForwardRef(cfg, weights, original, {
      ...refOptions(falip[0]!, H), tokenScale: scale, tokenScaleLayers: layerFlags(layers, L), tokenScaleAt: 'attn-input',
    });
    expect(relErr(e, ref.imageEmbeds)).toBeLessThan(TOL);
  });
});

describe('two-stream q/k/v replacement', () => {
  const swap = () => defaultFalipParams(cfg.vision).layers;

  it('"replace v" (q,k from the RedCircle image, v from the original) matches the reference', async () => {
    const e = await encoder.twoStream(original, prompted, swap());
    const ref = twoStreamForwardRef(cfg, weights, original, prompted, { swapLayers: layerFlags(swap(), L) });
    expect(relErr(e, ref)).toBeLessThan(TOL);
    expect(relErr(e, plainRef.imageEmbeds)).toBeGreaterThan(CHANGED);
  });

  it('"replace q,k" (q,k from the original with the foveal mask, v from the RedCircle image) matches the reference', async () => {
    const e = await encoder.twoStream(prompted, original, swap(), falip[0]);
    const ref = twoStreamForwardRef(cfg, weights, prompted, original, { swapLayers: layerFlags(swap(), L), ...refOptions(falip[0]!, H) });
    expect(relErr(e, ref)).toBeLessThan(TOL);
    expect(relErr(e, promptedRef.imageEmbeds)).toBeGreaterThan(CHANGED);
  });

  it('with the same image in both streams and the swap on the biased layers is the biased single stream', async () => {
    // The streams agree up to the first biased layer; from there both use the biased probabilities.
    const embeds = await encoder.twoStream(original, original, swap(), falip[0]);
    expect(relErr(embeds, (await encoder.capture(original, falip[0])).imageEmbeds)).toBeLessThan(SAME);
  });
});

describe('PASTA', () => {
  it('scales attention to keys outside the region by the coefficient, CLS kept', () => {
    const grid = gridSize(cfg.vision);
    const inside = new Set([0, ...regionTokens(regions[0]!, grid)]);
    const { bias, gate } = pastaAttention(regions[0]!, grid, cfg.vision, { coefficient: 0.1, heads: [1] });
    for (const q of [0, 1, T - 1]) {
      for (let k = 0; k < T; k++) expect(bias[q * T + k]).toBeCloseTo(inside.has(k) ? 0 : Math.log(0.1), 6);
    }
    const gated = [...gate.keys()].filter((i) => gate[i] === 1).map((i) => [Math.floor(i / H), i % H]);
    expect(gated).toEqual([8, 9, 10, 11].map((l) => [l, 1]));
  });

  it('rejects a coefficient that is not positive', () => {
    expect(() => pastaAttention(regions[0]!, gridSize(cfg.vision), cfg.vision, { coefficient: 0 })).toThrow(UserError);
  });

  it('matches the reference with a per-head gate and changes the embedding', async () => {
    const grid = gridSize(cfg.vision);
    const steer = regions.map((r) => pastaAttention(r, grid, cfg.vision, { heads: [0, 2], layers: [6, 10, 11] }));
    const captures = await Promise.all(steer.map((a) => encoder.capture(original, a)));
    captures.forEach((c, i) => {
      const ref = visionForwardRef(cfg, weights, original, refOptions(steer[i]!, H));
      expect(relErr(c.imageEmbeds, ref.imageEmbeds)).toBeLessThan(TOL);
      expect(relErr(c.clsAttn, ref.clsAttn)).toBeLessThan(TOL);
      expect(relErr(c.imageEmbeds, plainRef.imageEmbeds)).toBeGreaterThan(CHANGED);
    });
  });
});
