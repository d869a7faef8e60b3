import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/bench-report.js';
import { renderBench } from '../../src/bench/render-bench.js';
import { BENCH_PHASES, PROMPTED_PHASE, runBench } from '../../src/bench/run-bench.js';
import { visionForwardFlops } from '../../src/bench/vision-flops.js';
import { BENCH_FRAME, benchWorkload } from '../../src/bench/workload.js';
import { archConfig } from '../../src/model/clip-config.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import { resolveModel } from '../../src/model/model-store.js';
import { writeRandomModel } from '../../src/model/random-model.js';
import { makeMethod } from '../../src/prompts/method.js';

describe('visionForwardFlops', () => {
  it('counts ViT-B/16 as 35.1 GFLOP (17.5 G multiply-adds)', () => {
    // T = 197 tokens, D = 768, I = 3072, 12 layers, patch 16, projection 512.
    const qkv = 2 * 197 * 768 * 2304; //          697,171,968
    const scoresAndValues = 4 * 197 * 197 * 768; // 119,221,248
    const outProjection = 2 * 197 * 768 * 768; //  232,390,656
    const mlp = 4 * 197 * 768 * 3072; //         1,859,125,248
    const patchEmbedding = 2 * 196 * 768 * 768; // 231,211,008 (3·16² = 768 inputs per patch)
    const projection = 2 * 768 * 512; //               786,432
    const expected = 12 * (qkv + scoresAndValues + outProjection + mlp) + patchEmbedding + projection;
    expect(expected).toBe(35_126_906_880);
    expect(visionForwardFlops(archConfig('vit-b-16', 49408))).toBe(expected);
    expect(expected / 2 / 1e9).toBeCloseTo(17.56, 2); // the usual "17.5 GFLOPs" counts multiply-adds
  });
});

describe('benchWorkload', () => {
  it('draws the same boxes from the same seed, inside the frame', () => {
    const v = archConfig('tiny', 514).vision;
    const falip = makeMethod('falip', {}, v, 'test');
    const a = benchWorkload(v, { images: 2, boxes: 5 }, falip, 7);
    const b = benchWorkload(v, { images: 2, boxes: 5 }, falip, 7);
    expect(a.items.map((i) => i.box)).toEqual(b.items.map((i) => i.box));
    expect(a.items.map((i) => i.image)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    for (const {
      box: [x, y, w, h],
    } of a.items) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(x + w).toBeLessThanOrEqual(BENCH_FRAME.width);
      expect(y + h).toBeLessThanOrEqual(BENCH_FRAME.height);
    }
  });
});

describe('runBench on the tiny model', () => {
  let tmp: string;
  let report: BenchReport;
  const phases: string[] = [];
  const previousModels = process.env.FALIP_MODELS;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'falip-bench-'));
    process.env.FALIP_MODELS = path.join(tmp, 'models');
    const out = path.join(tmp, 'tiny');
    await writeRandomModel({ arch: 'tiny', seed: 0, out });
    const graphs = await ModelGraphs.open(await resolveModel(out));
    report = await runBench({
      graphs,
      device: 'cpu',
      batchSize: 4,
      images: 2,
      boxes: 3,
      sentences: 2,
      matmulShape: [256, 256, 256],
      promptTokens: 3,
      onPhaseDone: (p) => phases.push(p),
    });
  });

  afterAll(async () => {
    if (previousModels === undefined) delete process.env.FALIP_MODELS;
    else process.env.FALIP_MODELS = previousModels;
    await rm(tmp, { recursive: true, force: true });
  });

  it('measures finite positive numbers', () => {
    const measured = [
      report.images_per_s.batch1,
      report.images_per_s.batchN,
      report.falip_over_plain,
      report.rec.naive_per_s,
      report.rec.falip_per_s,
      report.rec.speedup,
      report.encoder_busy_share,
      report.matmul_peak_gflops,
      report.encoder_gflops,
      report.encoder_fraction_of_peak,
      report.prompted!.plain_images_per_s,
      report.prompted!.prompted_images_per_s,
      report.prompted!.prompted_over_plain,
    ];
    for (const x of measured) {
      expect(Number.isFinite(x)).toBe(true);
      expect(x).toBeGreaterThan(0);
    }
    expect(report.encoder_busy_share).toBeLessThanOrEqual(1);
    expect(phases).toEqual([...BENCH_PHASES, PROMPTED_PHASE]);
    expect(report.prompted!.tokens).toBe(3);
    expect(report.prompted!.prompted_over_plain).toBeCloseTo(
      report.prompted!.plain_images_per_s / report.prompted!.prompted_images_per_s,
      12,
    );
  });

  it('gets the same features on the naive and falip REC paths', () => {
    expect(report.rec.max_rel_diff).toBeLessThanOrEqual(1e-4);
  });

  it('renders one line per measurement; the prompted lines only when prompts were measured', () => {
    const text = renderBench(report);
    expect(text).toContain('2 images × 3 boxes × 2 sentences');
    expect(text.split('\n')).toHaveLength(13);
    expect(text).toContain('prompted (3 tokens) / plain images/s, batch 4');
    const { prompted: _, ...plainReport } = report;
    expect(renderBench(plainReport).split('\n')).toHaveLength(11);
    expect(renderBench(plainReport)).not.toContain('prompted');
  });
});
