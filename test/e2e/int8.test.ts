/**
 * `int8` precision: the per-column quantizer, the int8 weights file and graphs, and their numbers on CPU
 * against fp32 on the tiny model. Graphs are built with the builder functions and run directly.
 *
 * Numbers: every transformer block, run in int8 from fp32's own input, agrees with the fp32 block to a
 * cosine ≥ 0.999 (measured ≥ 0.9994), with and without a FALIP bias, and so do the image embeddings of the
 * last block (measured ≥ 0.9999) and the text embeddings end to end (measured ≥ 0.9992). End to end
 * through the 12 vision layers the comparison says little: the tiny model's sharp late attention
 * amplifies any perturbation on purpose (random-weights.ts), so that float16's 5e-4 rounding already ends
 * at a cosine of ~0.98 (fp16.test.ts), and int8's ~1% per Linear layer ends between 0.5 and 0.9.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, floatTensor, int64Tensor } from '../../src/encoder/ort-session.js';
import { visionTokens, type ClipConfig } from '../../src/model/clip-config.js';
import { ElemType, MS_DOMAIN } from '../../src/model/onnx/graph-builder.js';
import { isQuantizedWeight, quantizePerColumn, scaleKey } from '../../src/model/onnx/int8-weights.js';
import { parsePrecision, type Precision } from '../../src/model/onnx/precision.js';
import { textGraph } from '../../src/model/graphs/text-graph.js';
import { textWeightEntries, visionWeightEntries } from '../../src/model/onnx/tower-weights.js';
import { visionGraph, type VisionGraphSpec } from '../../src/model/graphs/vision-graph.js';
import type { WeightsIndex } from '../../src/model/onnx/weights-file.js';
import { writeWeightsFile } from '../helpers/weights-file.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { foveaBias } from '../../src/prompts/falip-mask.js';
import { biasGate } from '../../src/prompts/layer-spec.js';
import { cosine } from '../helpers/compare.js';
import { randomPixels } from '../helpers/requests.js';
import { removeTinyModels, tinyModel, type TinyModel } from '../helpers/tiny-model.js';

const { onnx } = onnxProto;

describe('quantizePerColumn', () => {
  // [in 4, out 5]: an ordinary column, an all-zero one, a constant one, a small one, a subnormal one.
  const columns = [
    [0.5, -1, 0.25, 0.1],
    [0, 0, 0, 0],
    [3, 3, 3, 3],
    [-2e-3, 1e-3, 0, 5e-4],
    [1e-44, 0, 0, 0],
  ];
  const rows = columns[0]!.length;
  const cols = columns.length;
  const data = new Float32Array(rows * cols);
  columns.forEach((col, c) => {
    col.forEach((v, r) => {
      data[r * cols + c] = v;
    });
  });
  const q = quantizePerColumn({ shape: [rows, cols], data });

  it('has one scale per output column, max|w|/127 in float32, and codes within ±127', () => {
    expect(q.shape).toEqual([rows, cols]);
    expect(q.scales).toHaveLength(cols);
    expect(q.scales[0]).toBe(Math.fround(1 / 127));
    expect(q.scales[2]).toBe(Math.fround(3 / 127));
    expect(q.scales[3]).toBe(Math.fround(2e-3 / 127));
    for (const code of q.codes) expect(Math.abs(code)).toBeLessThanOrEqual(127);
    // The largest magnitude of each non-degenerate column gets the full code.
    expect(
      [0, 2, 3].map((c) => Math.max(...Array.from({ length: rows }, (_, r) => Math.abs(q.codes[r * cols + c]!)))),
    ).toEqual([127, 127, 127]);
  });

  it('dequantizes to within scale/2 of every weight', () => {
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < rows; r++) {
        const err = Math.abs(q.codes[r * cols + c]! * q.scales[c]! - data[r * cols + c]!);
        expect(err, `row ${r}, column ${c}`).toBeLessThanOrEqual(q.scales[c]! / 2);
      }
    }
  });

  it('gives zero (and subnormal) columns scale 1 and codes 0', () => {
    for (const c of [1, 4]) {
      expect(q.scales[c]).toBe(1);
      for (let r = 0; r < rows; r++) expect(q.codes[r * cols + c]).toBe(0);
    }
  });

  it('rounds halves away from zero, so w and −w get opposite codes', () => {
    const half = quantizePerColumn({ shape: [3, 1], data: Float32Array.from([1, 63.5 / 127, -63.5 / 127]) });
    expect(Array.from(half.codes)).toEqual([127, 64, -64]);
  });

  it('refuses anything but a matrix', () => {
    expect(() => quantizePerColumn({ shape: [4], data: new Float32Array(4) })).toThrow(/\[in, out\] matrix/);
  });
});

describe('int8 precision', () => {
  it('is a precision next to fp32 and fp16', () => {
    expect(parsePrecision('int8')).toBe('int8');
  });
});

let model: TinyModel;
let cfg: ClipConfig;
let dir: string;
const indexes = new Map<string, WeightsIndex>();
let graphCount = 0;

beforeAll(async () => {
  model = await tinyModel();
  cfg = model.config;
  dir = mkdtempSync(path.join(tmpdir(), 'falip-int8-'));
  for (const precision of ['fp32', 'int8'] as const) {
    indexes.set(
      `vision.${precision}`,
      await writeWeightsFile(
        path.join(dir, `vision.${precision}.bin`),
        visionWeightEntries(cfg, model.weights),
        precision,
      ),
    );
    indexes.set(
      `text.${precision}`,
      await writeWeightsFile(path.join(dir, `text.${precision}.bin`), textWeightEntries(cfg, model.weights), precision),
    );
  }
});

afterAll(async () => {
  await removeTinyModels();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function visionBytes(spec: VisionGraphSpec, precision: Precision): Uint8Array {
  return visionGraph.build(cfg, indexes.get(`vision.${precision}`)!, `vision.${precision}.bin`, spec, precision);
}

async function sessionOf(bytes: Uint8Array): Promise<ort.InferenceSession> {
  const file = path.join(dir, `graph-${graphCount++}.onnx`);
  await writeFile(file, bytes);
  return createSession(file, { device: 'cpu' });
}

describe('int8 weights file', () => {
  it.each(['vision', 'text'])(
    '%s: every Linear weight is int8 with per-column float32 scales; the rest stays float32',
    (tower) => {
      const fp32 = indexes.get(`${tower}.fp32`)!;
      const int8 = indexes.get(`${tower}.int8`)!;
      const quantized = Object.keys(fp32).filter(isQuantizedWeight);
      expect(quantized).toHaveLength(4 * (tower === 'vision' ? cfg.vision : cfg.text).numLayers);
      for (const [key, t] of Object.entries(fp32)) {
        if (isQuantizedWeight(key)) {
          expect(int8[key], key).toMatchObject({ shape: t.shape, elemType: ElemType.INT8, length: t.length / 4 });
          expect(int8[scaleKey(key)], key).toMatchObject({ shape: [t.shape[1]], elemType: ElemType.FLOAT });
        } else {
          expect(int8[key], key).toMatchObject({ shape: t.shape, elemType: ElemType.FLOAT, length: t.length });
        }
      }
      expect(Object.keys(int8)).toHaveLength(Object.keys(fp32).length + quantized.length);
      expect(int8[tower === 'vision' ? 'v.proj' : 't.proj']!.elemType).toBe(ElemType.FLOAT); // the final projection pays nothing
    },
  );

  it("holds exactly the quantizer's codes and scales", () => {
    const key = 'v.l3.fc1.w';
    const t = indexes.get('vision.int8')![key]!;
    const s = indexes.get('vision.int8')![scaleKey(key)]!;
    const bytes = readFileSync(path.join(dir, 'vision.int8.bin'));
    const expected = quantizePerColumn([...visionWeightEntries(cfg, model.weights)].find(([k]) => k === key)![1]);
    expect(new Int8Array(bytes.buffer, bytes.byteOffset + t.offset, t.length)).toEqual(expected.codes);
    expect(
      new Float32Array(bytes.buffer.slice(bytes.byteOffset + s.offset, bytes.byteOffset + s.offset + s.length)),
    ).toEqual(expected.scales);
  });
});

describe('int8 graphs', () => {
  it.each([
    ['vision', () => visionBytes({ from: 0, to: cfg.vision.numLayers, bias: true, capture: true }, 'int8')],
    ['vision suffix', () => visionBytes({ from: 8, to: cfg.vision.numLayers, bias: true, capture: false }, 'int8')],
    ['text', () => textGraph.build(cfg, indexes.get('text.int8')!, 'text.int8.bin', undefined, 'int8')],
  ])('%s: every Linear is a DynamicQuantizeMatMul on int8 weights, float32 at the interface', (name, build) => {
    const m = onnx.ModelProto.decode(build());
    const graph = m.graph!;
    const layers =
      name === 'text' ? cfg.text.numLayers : name === 'vision' ? cfg.vision.numLayers : cfg.vision.numLayers - 8;
    expect(m.opsetImport).toContainEqual(expect.objectContaining({ domain: MS_DOMAIN, version: 1 }));
    const dq = graph.node!.filter((n) => n.opType === 'DynamicQuantizeMatMul');
    expect(dq).toHaveLength(4 * layers);
    expect(dq.every((n) => n.domain === MS_DOMAIN)).toBe(true);
    const int8 = new Set(graph.initializer!.filter((t) => t.dataType === ElemType.INT8).map((t) => t.name!));
    expect(int8.size).toBe(4 * layers);
    for (const n of graph.node!) {
      const usesInt8 = n.input!.some((i) => int8.has(i));
      // The capture's per-head out-projection reads the dequantized weight.
      if (usesInt8) expect(['DynamicQuantizeMatMul', 'DequantizeLinear'], n.opType!).toContain(n.opType);
    }
    for (const v of [...graph.input!, ...graph.output!]) {
      expect(v.type!.tensorType!.elemType, v.name!).toBe(v.name === 'input_ids' ? ElemType.INT64 : ElemType.FLOAT);
    }
  });

  it('fp32 graphs import no contrib domain', () => {
    const m = onnx.ModelProto.decode(
      visionBytes({ from: 0, to: cfg.vision.numLayers, bias: true, capture: false }, 'fp32'),
    );
    expect(m.opsetImport.map((o) => o.domain)).toEqual(['']);
  });
});

describe('int8 numbers on CPU', () => {
  const L = () => cfg.vision.numLayers;
  const T = () => visionTokens(cfg.vision);

  const pixels = (seed: number): Float32Array => randomPixels(cfg.vision.imageSize, seed);

  /** FALIP's default: form a on a box inside the image, layers 9-12, all heads. */
  function falip(): Record<string, ort.Tensor> {
    const bias = foveaBias({ c0: 4, c1: 8, r0: 5, r1: 9 }, 14, { form: 'a', alpha: 0.2, sigma: 100 });
    return {
      attn_bias: floatTensor(bias, [1, 1, T(), T()]),
      bias_gate: floatTensor(biasGate([8, 9, 10, 11], L(), cfg.vision.numHeads), [L(), cfg.vision.numHeads]),
    };
  }

  async function both(
    spec: VisionGraphSpec,
    feeds: Record<string, ort.Tensor>,
    output: string,
  ): Promise<[Float32Array, Float32Array]> {
    const [a, b] = await Promise.all(
      (['fp32', 'int8'] as const).map(
        async (p) => (await (await sessionOf(visionBytes(spec, p))).run(feeds))[output]!.data as Float32Array,
      ),
    );
    return [a!, b!];
  }

  it.each([1, 2])(
    "image %i: each block in int8 from fp32's input agrees with fp32 (cosine ≥ 0.999, measured ≥ 0.9994), with and without the FALIP bias",
    async (seed) => {
      const S = cfg.vision.imageSize;
      const D = cfg.vision.hiddenSize;
      let hidden = (
        await both(
          { from: 0, to: 1, bias: false, capture: false },
          { pixel_values: floatTensor(pixels(seed), [1, 3, S, S]) },
          'hidden_out',
        )
      )[0];
      for (let l = 1; l < L() - 1; l++) {
        const feeds = { hidden_in: floatTensor(hidden, [1, T(), D]) };
        const [fp32, int8] = await both({ from: l, to: l + 1, bias: false, capture: false }, feeds, 'hidden_out');
        expect(cosine(int8, fp32), `layer ${l + 1}`).toBeGreaterThan(0.999);
        if (l >= 8) {
          const [b32, b8] = await both(
            { from: l, to: l + 1, bias: true, capture: false },
            { ...feeds, ...falip() },
            'hidden_out',
          );
          expect(cosine(b8, b32), `layer ${l + 1} with bias`).toBeGreaterThan(0.999);
        }
        hidden = fp32;
      }
      // The last block and the projection: the image embedding itself (measured ≥ 0.9999).
      const feeds = { hidden_in: floatTensor(hidden, [1, T(), D]) };
      const [plain32, plain8] = await both(
        { from: L() - 1, to: L(), bias: false, capture: false },
        feeds,
        'image_embeds',
      );
      const [biased32, biased8] = await both(
        { from: L() - 1, to: L(), bias: true, capture: false },
        { ...feeds, ...falip() },
        'image_embeds',
      );
      expect(cosine(plain8, plain32)).toBeGreaterThan(0.999);
      expect(cosine(biased8, biased32)).toBeGreaterThan(0.999);
      // The bias moves the int8 embedding the way it moves the fp32 one.
      expect(cosine(biased8, plain8)).toBeCloseTo(cosine(biased32, plain32), 4);
    },
  );

  it("the capture variant runs in int8: the first layer's per-head CLS contributions agree with fp32, the embedding is the plain graph's", async () => {
    const S = cfg.vision.imageSize;
    const feeds = { pixel_values: floatTensor(pixels(3), [1, 3, S, S]), ...falip() };
    const capture = { from: 0, to: L(), bias: true, capture: true };
    const [c32, c8] = await Promise.all(
      (['fp32', 'int8'] as const).map(async (p) => (await sessionOf(visionBytes(capture, p))).run(feeds)),
    );
    const firstLayer = (o: ort.InferenceSession.OnnxValueMapType) =>
      (o.cls_head_out!.data as Float32Array).subarray(0, cfg.vision.numHeads * cfg.vision.hiddenSize);
    expect(cosine(firstLayer(c8!), firstLayer(c32!))).toBeGreaterThan(0.999);
    const plain8 = await (await sessionOf(visionBytes({ ...capture, capture: false }, 'int8'))).run(feeds);
    expect(c8!.image_embeds!.data).toEqual(plain8.image_embeds!.data);
  });

  it('the first two vision layers end to end agree (cosine ≥ 0.999, measured 0.9996)', async () => {
    const S = cfg.vision.imageSize;
    const [fp32, int8] = await both(
      { from: 0, to: 2, bias: false, capture: false },
      { pixel_values: floatTensor(pixels(7), [1, 3, S, S]) },
      'hidden_out',
    );
    expect(cosine(int8, fp32)).toBeGreaterThan(0.999);
  });

  it('text embeddings agree with fp32 end to end (cosine ≥ 0.999, measured 0.9992 .. 0.9999)', async () => {
    const tokenizer = await ClipTokenizer.fromFiles(
      path.join(model.dir, 'vocab.json'),
      path.join(model.dir, 'merges.txt'),
    );
    const [s32, s8] = await Promise.all(
      (['fp32', 'int8'] as const).map((p) =>
        sessionOf(textGraph.build(cfg, indexes.get(`text.${p}`)!, `text.${p}.bin`, undefined, p)),
      ),
    );
    for (const text of [
      '',
      'a cat',
      'a photo of a large red circle on a blue-yellow gradient',
      `${'lorem ipsum dolor sit amet '.repeat(12)}END`,
    ]) {
      const ids = tokenizer.encode(text, cfg.text.contextLength);
      const feeds = { input_ids: int64Tensor(BigInt64Array.from(ids, BigInt), [1, ids.length]) };
      const [a, b] = await Promise.all([s32!.run(feeds), s8!.run(feeds)]);
      expect(
        cosine(b.text_embeds!.data as Float32Array, a.text_embeds!.data as Float32Array),
        JSON.stringify(text),
      ).toBeGreaterThan(0.999);
    }
  });
});
