/**
 * The attention statistics of the analyses on the tiny model: the captured CLS rows are probability
 * rows, a strong FALIP mask moves CLS attention into the box exactly in the biased layers, and the
 * per-head statistics and the head-sensitivity ranking agree with the float64 reference.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clsRowStats, entropy, headChanges, massOn, meanClsRow } from '../../src/analysis/attention-stats.js';
import type { BoxSample } from '../../src/tasks/task-definition.js';
import { headSensitivity } from '../../src/analysis/head-sensitivity.js';
import { boxTokens } from '../../src/analysis/prompted-view.js';
import { createEncoder } from '../../src/encoder/open-encoder.js';
import type { ClsCapture, Encoder } from '../../src/encoder/encoder.js';
import { DecodedImage } from '../../src/encoder/image-input.js';
import type { AttentionBias } from '../../src/encoder/requests.js';
import type { BoxXYWH } from '../../src/image/box.js';
import { preprocess } from '../../src/image/preprocess.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { visionTokens, type ClipConfig } from '../../src/model/clip-config.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import type { WeightMap } from '../../src/model/tensor.js';
import { makeMethod } from '../../src/prompts/method.js';
import { relErr } from '../helpers/compare.js';
import { randomImage } from '../helpers/requests.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import { visionForwardRef, type VisionRefResult } from '../reference/clip-reference.js';

const W = 320;
const H_PX = 240;
const BOX: BoxXYWH = [40, 30, 120, 100];
/** FALIP's layers (9-12 of 12), 0-based. */
const BIASED = [8, 9, 10, 11];

let cfg: ClipConfig;
let weights: WeightMap;
let encoder: Encoder;
let rgb: RgbImage;
let input: DecodedImage;
let strong: AttentionBias;
let plain: ClsCapture;
let boosted: ClsCapture;
let tokens: number[];
let scratch: string;

const allHeads = () => Array.from({ length: cfg.vision.numHeads }, (_, h) => h);

beforeAll(async () => {
  const tiny = await tinyModel();
  ({ config: cfg, weights } = tiny);
  const graphs = await ModelGraphs.open({ name: 'tiny', sourceDir: tiny.dir, cacheDir: path.join(tiny.root, 'cache') });
  encoder = createEncoder(graphs, { device: 'cpu', threads: 2, batchSize: 4 });
  rgb = randomImage(W, H_PX, 7);
  input = new DecodedImage('image', rgb);
  strong = makeMethod('falip', { alpha: 5 }, cfg.vision, 'test').prepare({ width: W, height: H_PX, box: BOX })
    .attention!;
  [plain, boosted] = await Promise.all([encoder.capture(input, {}), encoder.capture(input, { attention: strong })]);
  tokens = boxTokens(BOX, rgb, cfg.vision);
  scratch = mkdtempSync(path.join(tmpdir(), 'falip-attn-'));
});

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await removeTinyModels();
});

describe('CLS attention rows', () => {
  it('sum to 1 in every layer and head, with and without a mask', () => {
    const v = cfg.vision;
    const T = visionTokens(v);
    for (const c of [plain, boosted]) {
      expect(c.clsAttn).toHaveLength(v.numLayers * v.numHeads * T);
      for (let i = 0; i < v.numLayers * v.numHeads; i++) {
        const row = c.clsAttn.subarray(i * T, (i + 1) * T);
        expect(Math.abs(row.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-5);
        expect(Math.min(...row)).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('entropy and box mass of a row are the textbook ones', () => {
    const T = 5;
    expect(entropy(new Float64Array(T).fill(1 / T))).toBeCloseTo(Math.log(T), 12);
    expect(entropy(Float64Array.of(0, 1, 0))).toBe(0);
    expect(massOn(Float64Array.of(0.1, 0.2, 0.3, 0.4), [1, 3])).toBeCloseTo(0.6, 12);
  });

  it('a FALIP mask with α = 5 moves CLS attention into the box in layers 9-12, and nowhere before', () => {
    const v = cfg.vision;
    const inside = (c: ClsCapture, l: number) => massOn(meanClsRow(c, v, l, allHeads()), tokens);
    for (let l = 0; l < BIASED[0]!; l++) expect(inside(boosted, l)).toBeCloseTo(inside(plain, l), 6);
    // Measured on this model and image (the box covers 42 of 196 patches): the head mean's share inside
    // the box goes 19.3% → 54.2% in layer 9, 16.8% → 59.5% in 10, 17.1% → 82.2% in 11, 2.2% → 46.6% in 12.
    for (const l of BIASED) {
      expect(inside(plain, l)).toBeLessThan(0.25);
      expect(inside(boosted, l)).toBeGreaterThan(0.45);
      expect(inside(boosted, l) - inside(plain, l)).toBeGreaterThan(0.3);
    }
    // In the first biased layer the logits differ only by the mask, so every head gains.
    for (const h of allHeads())
      expect(massOn(meanClsRow(boosted, v, BIASED[0]!, [h]), tokens)).toBeGreaterThan(
        massOn(meanClsRow(plain, v, BIASED[0]!, [h]), tokens),
      );
  });

  it('per-head statistics match the float64 reference', async () => {
    const v = cfg.vision;
    const H = v.numHeads;
    const pixels = await preprocess(rgb, v.imageSize);
    const gate = Array.from({ length: v.numLayers }, (_, l) => Array.from(strong.gate.subarray(l * H, (l + 1) * H)));
    const asCapture = (r: VisionRefResult): ClsCapture => ({
      imageEmbeds: Float32Array.from(r.imageEmbeds),
      clsResidual: Float32Array.from(r.clsResidual),
      clsHeadOut: Float32Array.from(r.clsHeadOut),
      clsAttn: Float32Array.from(r.clsAttn),
    });
    const refPlain = asCapture(visionForwardRef(cfg, weights, pixels));
    const refBoosted = asCapture(visionForwardRef(cfg, weights, pixels, { attnBias: strong.bias, biasGate: gate }));
    const ours = clsRowStats(boosted, v, tokens);
    const ref = clsRowStats(refBoosted, v, tokens);
    expect(relErr(ours.inside, ref.inside)).toBeLessThan(1e-4);
    expect(relErr(ours.entropy, ref.entropy)).toBeLessThan(1e-4);
    expect(relErr(headChanges(plain, boosted, v), headChanges(refPlain, refBoosted, v))).toBeLessThan(1e-4);
  });
});

describe('head sensitivity', () => {
  let samples: BoxSample[];

  beforeAll(async () => {
    const files = await Promise.all(
      [21, 22].map(async (seed, i) => {
        const img = randomImage(W, H_PX, seed);
        const file = path.join(scratch, `img${i}.png`);
        await sharp(img.data, { raw: { width: W, height: H_PX, channels: 3 } })
          .png()
          .toFile(file);
        return file;
      }),
    );
    samples = [
      { id: 'a', image: files[0]!, width: W, height: H_PX, box: [40, 30, 120, 100] },
      { id: 'b', image: files[0]!, width: W, height: H_PX, box: [200, 120, 80, 90] },
      { id: 'c', image: files[1]!, width: W, height: H_PX, box: [10, 10, 300, 60] },
    ];
  });

  it('ranks the heads FALIP changes: only layers 9-12 move, the box gains attention there, and the result is deterministic', async () => {
    const falip = makeMethod('falip', { alpha: 2 }, cfg.vision, 'test');
    let done = 0;
    const rows = await headSensitivity(encoder, samples, falip, () => done++);
    expect(done).toBe(samples.length);
    expect(rows).toHaveLength(cfg.vision.numLayers * cfg.vision.numHeads);
    expect(rows.map((r) => r.rank)).toEqual(rows.map((_, i) => i + 1));
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.change).toBeGreaterThanOrEqual(rows[i]!.change);
    for (const r of rows) {
      if (r.layer <= 8) {
        expect(r.change).toBe(0);
        expect(r.in_box_prompted).toBeCloseTo(r.in_box_plain, 6);
      } else expect(r.change).toBeGreaterThan(0);
    }
    // Later layers also see the changed states, so only the first biased layer gains head by head.
    for (const r of rows.filter((x) => x.layer === 9)) expect(r.in_box_prompted).toBeGreaterThan(r.in_box_plain);
    for (const layer of [9, 10, 11, 12]) {
      const of = rows.filter((x) => x.layer === layer);
      expect(of.reduce((s, x) => s + x.in_box_prompted - x.in_box_plain, 0)).toBeGreaterThan(0);
    }
    expect(await headSensitivity(encoder, samples, falip, () => undefined)).toEqual(rows);
  });

  it('compares RedCircle with the original image in every layer', async () => {
    const rows = await headSensitivity(
      encoder,
      samples,
      makeMethod('redcircle', {}, cfg.vision, 'test'),
      () => undefined,
    );
    expect(rows.every((r) => r.change > 0)).toBe(true);
  });
});
