/**
 * The text-directed score decomposition (decomposition graph) against the float64 reference's own,
 * independent decomposition on the tiny model: the per-token map, every remaining term, and the total,
 * which must be the image–text score 100·cos(image, text).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headsMap, otherTermsTotal } from '../../src/analysis/score-decomposition.js';
import type { Encoder, ScoreDecomposition } from '../../src/encoder/encoder.js';
import { createEncoder } from '../../src/encoder/open-encoder.js';
import type { AttentionBias } from '../../src/encoder/requests.js';
import { preprocess } from '../../src/image/preprocess.js';
import { visionTokens, type ClipConfig } from '../../src/model/clip-config.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import type { ResolvedModel } from '../../src/model/model-store.js';
import type { WeightMap } from '../../src/model/tensor.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { makeMethod } from '../../src/prompts/method.js';
import { Rng } from '../../src/util/rng.js';
import { cosine, relErr } from '../helpers/compare.js';
import { userErrorMessage } from '../helpers/errors.js';
import { gateRows, pixelInput } from '../helpers/requests.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import { scoreDecompositionRef, visionForwardRef, type ScoreDecompositionRef } from '../reference/clip-reference.js';

/**
 * Graph (float32) vs reference (float64), relative: max|diff| / ‖reference‖ for vectors, |diff| / |score|
 * for scalars (the float32 forward alone moves the score by ~7e-5 of itself on this model).
 */
const TOL = 1e-4;
/** The graph's own terms against its own score: the same float32 numbers, summed in float64. */
const SAME = 1e-5;

let cfg: ClipConfig;
let weights: WeightMap;
let model: ResolvedModel;
let encoder: Encoder;
let pixels: Float32Array;
let text: Float32Array;
let falip: AttentionBias;

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

function refOptions(a: AttentionBias) {
  return { attnBias: a.bias, biasGate: gateRows(a.gate, cfg.vision.numHeads) };
}

function refTotal(d: ScoreDecompositionRef): number {
  let s = d.embedScore + d.lnPostBiasScore;
  for (const t of d.tokenScores) s += t;
  for (let l = 0; l < d.mlpScores.length; l++) s += d.mlpScores[l]! + d.outBiasScores[l]!;
  return s;
}

function graphTotal(d: ScoreDecomposition): number {
  const map = headsMap(d, cfg.vision, all(cfg.vision.numLayers), all(cfg.vision.numHeads));
  return map.reduce((s, x) => s + x, 0) + otherTermsTotal(d);
}

beforeAll(async () => {
  const tiny = await tinyModel();
  ({ config: cfg, weights } = tiny);
  model = { name: 'tiny', sourceDir: tiny.dir, cacheDir: path.join(tiny.root, 'cache') };
  const graphs = await ModelGraphs.open(model);
  encoder = createEncoder(graphs, { device: 'cpu', threads: 2, batchSize: 4 });
  const rng = new Rng(5);
  const [W, H] = [320, 240];
  pixels = await preprocess(
    { width: W, height: H, data: Uint8Array.from({ length: W * H * 3 }, () => Math.floor(rng.next() * 256)) },
    cfg.vision.imageSize,
  );
  const tokenizer = await ClipTokenizer.fromFiles(path.join(tiny.dir, 'vocab.json'), path.join(tiny.dir, 'merges.txt'));
  text = await encoder.text(tokenizer.encode('a photo of the red square', cfg.text.contextLength));
  falip = makeMethod('falip', { alpha: 5 }, cfg.vision, 'test').prepare({
    width: W,
    height: H,
    box: [40, 30, 120, 100],
  }).attention!;
});

afterAll(() => removeTinyModels());

describe('score decomposition', () => {
  it("the reference's terms sum to its image–text score", () => {
    const ref = scoreDecompositionRef(cfg, weights, pixels, text);
    const embeds = visionForwardRef(cfg, weights, pixels).imageEmbeds;
    expect(ref.score).toBeCloseTo(100 * cosine(embeds, text), 9);
    expect(refTotal(ref)).toBeCloseTo(ref.score, 9);
    // Not a sum of near-zero terms: the heads' share and the rest are both substantial.
    expect(Math.abs(ref.tokenScores.reduce((s, x) => s + x, 0))).toBeGreaterThan(0.01);
  });

  it.each([
    ['plain', undefined],
    ['FALIP α=5', 'falip'],
  ] as const)('%s: the graph matches the reference term by term and its total is the score', async (_name, which) => {
    const attention = which ? falip : undefined;
    const d = await encoder.decompose(pixelInput(pixels), attention ? { attention } : {}, text);
    const ref = scoreDecompositionRef(cfg, weights, pixels, text, attention ? refOptions(attention) : {});
    expect(d.tokenScores).toHaveLength(cfg.vision.numLayers * cfg.vision.numHeads * visionTokens(cfg.vision));
    expect(relErr(d.tokenScores, ref.tokenScores)).toBeLessThan(TOL);
    expect(relErr(d.mlpScores, ref.mlpScores)).toBeLessThan(TOL);
    expect(relErr(d.outBiasScores, ref.outBiasScores)).toBeLessThan(TOL);
    const ofScore = (a: number, b: number) => Math.abs(a - b) / Math.abs(ref.score);
    expect(ofScore(d.embedScore, ref.embedScore)).toBeLessThan(TOL);
    expect(ofScore(d.lnPostBiasScore, ref.lnPostBiasScore)).toBeLessThan(TOL);
    expect(ofScore(d.score, ref.score)).toBeLessThan(TOL);
    expect(ofScore(graphTotal(d), ref.score)).toBeLessThan(TOL);
    expect(Math.abs(graphTotal(d) - d.score)).toBeLessThan(SAME * Math.abs(d.score));
  });

  it("a selection's map sums to those heads' share, and the shares of disjoint selections add up", async () => {
    const d = await encoder.decompose(pixelInput(pixels), { attention: falip }, text);
    const v = cfg.vision;
    const ref = scoreDecompositionRef(cfg, weights, pixels, text, refOptions(falip));
    const T = visionTokens(v);
    let refShare = 0;
    for (const l of [8, 9, 10, 11])
      for (const h of [1, 3]) for (let t = 0; t < T; t++) refShare += ref.tokenScores[(l * v.numHeads + h) * T + t]!;
    const sum = (m: Float64Array) => m.reduce((s, x) => s + x, 0);
    expect(Math.abs(sum(headsMap(d, v, [8, 9, 10, 11], [1, 3])) - refShare)).toBeLessThan(TOL * Math.abs(ref.score));
    const parts = sum(headsMap(d, v, all(8), all(v.numHeads))) + sum(headsMap(d, v, [8, 9, 10, 11], all(v.numHeads)));
    expect(parts).toBeCloseTo(sum(headsMap(d, v, all(12), all(v.numHeads))), 9);
  });

  it('is refused in int8, whose quantized out-projection is not the sum of the terms', async () => {
    const int8 = createEncoder(await ModelGraphs.open(model, { precision: 'int8' }), { device: 'cpu', batchSize: 1 });
    expect(await userErrorMessage(int8.decompose(pixelInput(pixels), {}, text))).toBe(
      'the score decomposition needs float weights: use --precision fp32 (or fp16)',
    );
  });
});
