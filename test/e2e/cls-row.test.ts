/**
 * The CLS-row split of the first biased layer (cls-row-graph.ts): the per-image 'prefix' graph
 * plus the per-box graph equal the full biased forward and today's prefix + suffix path, for FALIP form a
 * masks, on the tiny model. The graphs are built with the builder functions and run directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, floatTensor } from '../../src/encoder/ort-session.js';
import type { TokenRegion } from '../../src/image/token-grid.js';
import { gridSize, visionTokens, type ClipConfig } from '../../src/model/clip-config.js';
import { clsRowGraph, isClsRowOnlyBias } from '../../src/model/graphs/cls-row-graph.js';
import type { GraphFamily } from '../../src/model/graphs/graph-family.js';
import { visionGraph } from '../../src/model/graphs/vision-graph.js';
import { visionWeightEntries } from '../../src/model/onnx/tower-weights.js';
import type { WeightsIndex } from '../../src/model/onnx/weights-file.js';
import { writeWeightsFile } from '../helpers/weights-file.js';
import { foveaBias, type MaskForm } from '../../src/prompts/falip-mask.js';
import { biasGate } from '../../src/prompts/layer-spec.js';
import { visionForwardRef } from '../reference/clip-reference.js';
import { relErr } from '../helpers/compare.js';
import { gateRows, randomPixels } from '../helpers/requests.js';
import { removeTinyModels, tinyModel, type TinyModel } from '../helpers/tiny-model.js';

/** max|diff| / ‖embedding‖ between the split path and the unsplit graphs. */
const TOL = 1e-5;

let model: TinyModel;
let cfg: ClipConfig;
let dir: string;
let index: WeightsIndex;
let L: number;
let H: number;
let T: number;
const sessions = new Map<string, Promise<ort.InferenceSession>>();

beforeAll(async () => {
  model = await tinyModel();
  cfg = model.config;
  ({ numLayers: L, numHeads: H } = cfg.vision);
  T = visionTokens(cfg.vision);
  dir = mkdtempSync(path.join(tmpdir(), 'falip-cls-row-'));
  index = await writeWeightsFile(path.join(dir, 'vision.bin'), visionWeightEntries(cfg, model.weights));
});

afterAll(async () => {
  await removeTinyModels();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function session<S>(family: GraphFamily<S>, spec: S): Promise<ort.InferenceSession> {
  const name = family.key(spec, cfg);
  let s = sessions.get(name);
  if (!s) {
    const file = path.join(dir, `${name}.onnx`);
    s = writeFile(file, family.build(cfg, index, 'vision.bin', spec, 'fp32')).then(() =>
      createSession(file, { device: 'cpu' }),
    );
    sessions.set(name, s);
  }
  return s;
}

async function run<S>(
  family: GraphFamily<S>,
  spec: S,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, Float32Array>> {
  const out = await (await session(family, spec)).run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

const pixels = (seed: number): Float32Array => randomPixels(cfg.vision.imageSize, seed);

/** n copies of one item, stacked along a new batch axis. */
function repeat(item: Float32Array, n: number): Float32Array {
  const out = new Float32Array(item.length * n);
  for (let b = 0; b < n; b++) out.set(item, b * item.length);
  return out;
}

function concat(items: Float32Array[]): Float32Array {
  const out = new Float32Array(items.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of items) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** Row b of a [B, n] batch. */
function row(data: Float32Array, b: number, n: number): Float32Array {
  return data.subarray(b * n, (b + 1) * n);
}

const G = 14; // the tiny model's token grid (224 / 16)
const REGIONS: { label: string; region: TokenRegion }[] = [
  { label: 'inside', region: { c0: 4, c1: 8, r0: 5, r1: 9 } },
  { label: 'left edge', region: { c0: 0, c1: 2, r0: 4, r1: 8 } },
  { label: 'top edge', region: { c0: 5, c1: 9, r0: 0, r1: 2 } },
  { label: 'right edge', region: { c0: 11, c1: G - 1, r0: 3, r1: 6 } },
  { label: 'bottom edge', region: { c0: 2, c1: 7, r0: 11, r1: G - 1 } },
  { label: '1x1 token', region: { c0: 6, c1: 6, r0: 8, r1: 8 } },
  { label: 'whole image', region: { c0: 0, c1: G - 1, r0: 0, r1: G - 1 } },
];

function bias(region: TokenRegion, form: MaskForm = 'a'): Float32Array {
  return foveaBias(region, G, { form, alpha: 0.2, sigma: 100 });
}

const GATES: { label: string; layers: number[]; heads?: number[] }[] = [
  { label: 'layers 9-12', layers: [8, 9, 10, 11] },
  { label: 'layer 12 only', layers: [11] },
  { label: 'layers 10-12, heads 1 and 3', layers: [9, 10, 11], heads: [0, 2] },
];

interface Paths {
  /** The full biased forward, one graph. */
  full: Float32Array[];
  /** Today's shared path: unbiased prefix [0, k), biased suffix [k, L). */
  suffix: Float32Array[];
  /** The CLS-row split: prefix [0, k] once per image, per-box graph batched over the boxes. */
  split: Float32Array[];
}

/** Every box of `regions` on one image through the three paths, with one gate; all boxes in one batch each. */
async function threePaths(px: Float32Array, biases: Float32Array[], gate: Float32Array): Promise<Paths> {
  const k = Math.floor(gate.findIndex((x) => x !== 0) / H);
  const S = cfg.vision.imageSize;
  const D = cfg.vision.hiddenSize;
  const B = biases.length;
  const P = cfg.projectionDim;
  const attn = { attn_bias: floatTensor(concat(biases), [B, 1, T, T]), bias_gate: floatTensor(gate, [L, H]) };
  const embeds = (data: Float32Array) => Array.from({ length: B }, (_, b) => row(data, b, P));

  const full = await run(
    visionGraph,
    { from: 0, to: L, bias: true, biasFrom: k, capture: false },
    { pixel_values: floatTensor(repeat(px, B), [B, 3, S, S]), ...attn },
  );

  const hidden = (
    await run(
      visionGraph,
      { from: 0, to: k, bias: false, capture: false },
      { pixel_values: floatTensor(px, [1, 3, S, S]) },
    )
  ).hidden_out!;
  const suffix = await run(
    visionGraph,
    { from: k, to: L, bias: true, capture: false },
    { hidden_in: floatTensor(repeat(hidden, B), [B, T, D]), ...attn },
  );

  const pre = await run(clsRowGraph, { half: 'prefix', layer: k }, { pixel_values: floatTensor(px, [1, 3, S, S]) });
  const perBoxFeeds: Record<string, ort.Tensor> = {
    cls_in: floatTensor(repeat(pre.cls_in!, B), [B, D]),
    cls_logits: floatTensor(repeat(pre.cls_logits!, B), [B, H, T]),
    cls_values: floatTensor(repeat(pre.cls_values!, B), [B, H, T, D / H]),
    ...attn,
  };
  if (k + 1 < L) perBoxFeeds.hidden_in = floatTensor(repeat(pre.hidden_out!, B), [B, T, D]);
  else expect(pre.hidden_out).toBeUndefined(); // nothing reads the last layer's patch rows
  const split = await run(clsRowGraph, { half: 'per-box', layer: k }, perBoxFeeds);

  return { full: embeds(full.image_embeds!), suffix: embeds(suffix.image_embeds!), split: embeds(split.image_embeds!) };
}

describe('CLS-row split of the first biased layer (form a)', () => {
  it.each(GATES.map((g) => [g.label, g] as const))(
    '%s: prefix + per-box == full biased graph == prefix + suffix, every box',
    async (_label, g) => {
      const gate = biasGate(g.layers, L, H, g.heads);
      for (const seed of [1, 2]) {
        const px = pixels(seed);
        const paths = await threePaths(
          px,
          REGIONS.map((r) => bias(r.region)),
          gate,
        );
        const plain = (
          await run(
            visionGraph,
            { from: 0, to: L, bias: false, capture: false },
            { pixel_values: floatTensor(px, [1, 3, cfg.vision.imageSize, cfg.vision.imageSize]) },
          )
        ).image_embeds!;
        REGIONS.forEach(({ label }, b) => {
          const where = `seed ${seed}, ${label}`;
          expect(relErr(paths.split[b]!, paths.full[b]!), where).toBeLessThan(TOL); // measured ≤ 1.5e-6
          expect(relErr(paths.split[b]!, paths.suffix[b]!), where).toBeLessThan(TOL);
        });
        // Not vacuous: the mask moves the embeddings by far more than the tolerance (a 1×1 box on layer 12
        // alone moves it by only ~3e-6, hence the largest over the boxes).
        expect(Math.max(...paths.full.map((e) => relErr(e, plain)))).toBeGreaterThan(100 * TOL);
      }
    },
  );

  it('matches the float64 reference (layers 9-12, inside box)', async () => {
    const px = pixels(3);
    const b = bias(REGIONS[0]!.region);
    const gate = biasGate([8, 9, 10, 11], L, H);
    const { split } = await threePaths(px, [b], gate);
    const ref = visionForwardRef(cfg, model.weights, px, { attnBias: b, biasGate: gateRows(gate, H) }).imageEmbeds;
    expect(relErr(split[0]!, ref)).toBeLessThan(1e-4); // onnx-vs-reference.test.ts's end-to-end tolerance
  });

  it('batches boxes of different images in one per-box run', async () => {
    const gate = biasGate([8, 9, 10, 11], L, H);
    const [one, two] = await Promise.all([
      threePaths(pixels(1), [bias(REGIONS[0]!.region)], gate),
      threePaths(pixels(2), [bias(REGIONS[1]!.region)], gate),
    ]);
    const S = cfg.vision.imageSize;
    const D = cfg.vision.hiddenSize;
    const pre = await run(
      clsRowGraph,
      { half: 'prefix', layer: 8 },
      { pixel_values: floatTensor(concat([pixels(1), pixels(2)]), [2, 3, S, S]) },
    );
    const out = await run(
      clsRowGraph,
      { half: 'per-box', layer: 8 },
      {
        hidden_in: floatTensor(pre.hidden_out!, [2, T, D]),
        cls_in: floatTensor(pre.cls_in!, [2, D]),
        cls_logits: floatTensor(pre.cls_logits!, [2, H, T]),
        cls_values: floatTensor(pre.cls_values!, [2, H, T, D / H]),
        attn_bias: floatTensor(concat([bias(REGIONS[0]!.region), bias(REGIONS[1]!.region)]), [2, 1, T, T]),
        bias_gate: floatTensor(gate, [L, H]),
      },
    );
    const P = cfg.projectionDim;
    expect(relErr(row(out.image_embeds!, 0, P), one.full[0]!)).toBeLessThan(TOL);
    expect(relErr(row(out.image_embeds!, 1, P), two.full[0]!)).toBeLessThan(TOL);
  });

  it('takes a per-head bias [B,H,T,T]', async () => {
    const gate = biasGate([9, 10, 11], L, H);
    const perHead = concat(Array.from({ length: H }, (_, h) => bias(REGIONS[h % REGIONS.length]!.region)));
    const S = cfg.vision.imageSize;
    const D = cfg.vision.hiddenSize;
    const px = pixels(1);
    const attn = { attn_bias: floatTensor(perHead, [1, H, T, T]), bias_gate: floatTensor(gate, [L, H]) };
    const full = await run(
      visionGraph,
      { from: 0, to: L, bias: true, biasFrom: 9, capture: false },
      { pixel_values: floatTensor(px, [1, 3, S, S]), ...attn },
    );
    const pre = await run(clsRowGraph, { half: 'prefix', layer: 9 }, { pixel_values: floatTensor(px, [1, 3, S, S]) });
    const split = await run(
      clsRowGraph,
      { half: 'per-box', layer: 9 },
      {
        hidden_in: floatTensor(pre.hidden_out!, [1, T, D]),
        cls_in: floatTensor(pre.cls_in!, [1, D]),
        cls_logits: floatTensor(pre.cls_logits!, [1, H, T]),
        cls_values: floatTensor(pre.cls_values!, [1, H, T, D / H]),
        ...attn,
      },
    );
    expect(relErr(split.image_embeds!, full.image_embeds!)).toBeLessThan(TOL);
  });

  it('has a contract check: form a meets it, per head too; forms b and c do not', () => {
    const a = bias(REGIONS[0]!.region);
    expect(isClsRowOnlyBias(a, T)).toBe(true);
    expect(isClsRowOnlyBias(concat([a, bias(REGIONS[1]!.region), new Float32Array(T * T)]), T)).toBe(true);
    expect(isClsRowOnlyBias(bias(REGIONS[0]!.region, 'b'), T)).toBe(false);
    expect(isClsRowOnlyBias(bias(REGIONS[5]!.region, 'c'), T)).toBe(false);
    expect(isClsRowOnlyBias(concat([a, bias(REGIONS[1]!.region, 'b')]), T)).toBe(false);
    expect(() => isClsRowOnlyBias(new Float32Array(T * T + 1), T)).toThrow(/planes/);
  });

  it('is outside its contract for a bias with non-zero non-CLS rows (form b): the split then differs', async () => {
    const gate = biasGate([8, 9, 10, 11], L, H);
    const formB = bias(REGIONS[0]!.region, 'b');
    expect(isClsRowOnlyBias(formB, T)).toBe(false);
    const paths = await threePaths(pixels(1), [formB], gate);
    expect(relErr(paths.suffix[0]!, paths.full[0]!)).toBeLessThan(TOL); // today's path serves any form
    expect(relErr(paths.split[0]!, paths.full[0]!)).toBeGreaterThan(100 * TOL);
  });
});

describe('CLS-row split specs', () => {
  it('keep the graph names caches already hold', () => {
    const names = [
      visionGraph.key({ from: 0, to: 9, bias: false, capture: false }, cfg),
      clsRowGraph.key({ half: 'prefix', layer: 8 }, cfg),
      visionGraph.key({ from: 8, to: 12, bias: true, capture: false }, cfg),
      clsRowGraph.key({ half: 'per-box', layer: 8 }, cfg),
    ];
    expect(new Set(names).size).toBe(names.length);
    expect(names[1]).toBe('vision-0-9-clsrow-prefix');
    expect(names[3]).toBe('vision-8-12-bias-clsrow-per-box');
  });

  it.each([-1, 12, 1.5])('rejects layer %d', (layer) => {
    expect(() => clsRowGraph.build(cfg, index, 'vision.bin', { half: 'prefix', layer }, 'fp32')).toThrow(/outside/);
    expect(() => clsRowGraph.build(cfg, index, 'vision.bin', { half: 'per-box', layer }, 'fp32')).toThrow(/outside/);
  });

  it('rejects a vision spec outside the layers', () => {
    expect(() =>
      visionGraph.build(cfg, index, 'vision.bin', { from: 8, to: 13, bias: true, capture: false }, 'fp32'),
    ).toThrow(/outside/);
  });

  it('uses the 14×14 grid the regions assume', () => {
    expect(gridSize(cfg.vision)).toBe(G);
  });
});
