/**
 * `--precision fp16`: the float32→float16 conversion, the fp16 graphs' structure, and their numbers.
 * ORT's CPU provider runs fp16 graphs (it inserts casts to float32 around its float-only kernels), so
 * the numbers are checked here on CPU against the fp32 graphs, although `openEncoder` refuses fp16 on CPU.
 *
 * The tiny model's sharp late attention amplifies rounding on purpose (random-weights.ts): float16's
 * 5e-4 relative rounding grows to a cosine distance of ~1e-2 on the image embedding. The strict
 * comparisons are therefore on the text tower and on the vision hidden state after four layers.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encoderOptionsOf } from '../../src/cli/options.js';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, openEncoder } from '../../src/encoder/open-encoder.js';
import { clsProjectionGraph } from '../../src/model/graphs/cls-projection-graph.js';
import { clsRowGraph } from '../../src/model/graphs/cls-row-graph.js';
import { decompositionGraph } from '../../src/model/graphs/decomposition-graph.js';
import { textGraph } from '../../src/model/graphs/text-graph.js';
import { twoStreamGraph } from '../../src/model/graphs/two-stream-graph.js';
import { visionGraph } from '../../src/model/graphs/vision-graph.js';
import { createSession, floatTensor } from '../../src/encoder/ort-session.js';
import { visionTokens, type ClipConfig } from '../../src/model/clip-config.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import { ElemType } from '../../src/model/onnx/graph-builder.js';
import { float16Bits, toFloat16 } from '../../src/model/onnx/precision.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { UserError } from '../../src/util/errors.js';
import { falipBias, pixelInput, randomPixels } from '../helpers/requests.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import { cosine, hiddenErr } from '../helpers/compare.js';

/** IEEE binary16 bits → number, written independently of the code under test. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

describe('float16Bits', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff], // largest finite half
    [65519, 0x7bff], // below the midpoint to the next (missing) step
    [65520, 0x7c00], // the midpoint: ties to even, which is inf
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [5.96e-8, 0x0001], // smallest subnormal, 2^-24
    [2 ** -25, 0x0000], // half of it: a tie, to even (zero)
    [3 * 2 ** -25, 0x0002], // 1.5 units: a tie, to even (2)
    [2 ** -14 - 2 ** -25, 0x0400], // rounds up out of the subnormals
    [1e-10, 0x0000],
    [-0, 0x8000],
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 1 + 2^-10 and 1 + 2^-9: to even
  ])('%d → %i', (x, bits) => {
    expect(float16Bits(x)).toBe(bits);
  });

  it('keeps NaN a NaN', () => {
    const h = float16Bits(NaN);
    expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
  });

  it('maps every finite half value back to its own bits, and midpoints to the even neighbour', () => {
    const halves = Uint16Array.from({ length: 0x7c00 }, (_, i) => i); // +0 .. 65504
    const values = Float32Array.from(halves, halfValue);
    expect(toFloat16(values)).toEqual(halves);
    expect(toFloat16(values.map((v) => -v))).toEqual(halves.map((h) => h | 0x8000));
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (halfValue(h) + halfValue(h + 1)) / 2; // exact in float32: one more mantissa bit
      expect(float16Bits(mid)).toBe(h % 2 === 0 ? h : h + 1);
    }
  });
});

const { onnx } = onnxProto;

let tmp: string;
let cfg: ClipConfig;
let modelDir: string;
let fp32: ModelGraphs;
let fp16: ModelGraphs;
const savedModels = process.env.FALIP_MODELS;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'falip-fp16-'));
  process.env.FALIP_MODELS = path.join(tmp, 'models');
  ({ dir: modelDir, config: cfg } = await tinyModel());
  const model = { name: 't', sourceDir: modelDir, cacheDir: path.join(tmp, 'cache') };
  fp32 = await ModelGraphs.open(model);
  fp16 = await ModelGraphs.open(model, { precision: 'fp16' });
});

afterAll(async () => {
  await removeTinyModels();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (savedModels === undefined) delete process.env.FALIP_MODELS;
  else process.env.FALIP_MODELS = savedModels;
});

describe('fp16 graphs', () => {
  it('live beside the fp32 ones, with weights of half the size', async () => {
    const [g32, g16] = await Promise.all([fp32.path(textGraph), fp16.path(textGraph)]);
    expect(path.basename(g32)).toBe('text.onnx');
    expect(path.basename(g16)).toBe('text.fp16.onnx');
    expect(path.dirname(g16)).toBe(path.dirname(g32));
    const size = (f: string) => statSync(path.join(fp32.dir, f)).size;
    expect(size('text.fp16.bin') / size('text.bin')).toBeCloseTo(0.5, 2); // up to the 64-byte alignment
  });

  it.each([
    [
      'vision',
      () =>
        fp16.path(visionGraph, {
          from: 0,
          to: cfg.vision.numLayers,
          bias: true,
          capture: true,
          tokenScale: 'residual',
        }),
    ],
    ['vision suffix', () => fp16.path(visionGraph, { from: 8, to: cfg.vision.numLayers, bias: true, capture: false })],
    ['CLS-row prefix', () => fp16.path(clsRowGraph, { half: 'prefix', layer: 8 })],
    ['CLS-row per-box', () => fp16.path(clsRowGraph, { half: 'per-box', layer: 8 })],
    ['two-stream', () => fp16.path(twoStreamGraph)],
    ['cls projection', () => fp16.path(clsProjectionGraph)],
    ['decomposition', () => fp16.path(decompositionGraph)],
    ['text', () => fp16.path(textGraph)],
  ])('%s: float16 weights inside, float32 at the interface', async (_name, build) => {
    const graph = onnx.ModelProto.decode(await readFile(await build())).graph!;
    const external = graph.initializer!.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
    expect(external.length).toBeGreaterThan(0);
    for (const t of external) {
      expect(t.dataType).toBe(ElemType.FLOAT16);
      expect(t.externalData!.find((e) => e.key === 'location')!.value).toMatch(/^(vision|text)\.fp16\.bin$/);
    }
    for (const t of graph.initializer!.filter((i) => i.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL)) {
      expect(t.dataType).not.toBe(ElemType.FLOAT);
    }
    const nodes = graph.node!;
    for (const input of graph.input!) {
      const type = input.type!.tensorType!.elemType;
      if (input.name === 'input_ids') {
        expect(type).toBe(ElemType.INT64);
        continue;
      }
      expect(type).toBe(ElemType.FLOAT);
      const consumers = nodes.filter((n) => n.input!.includes(input.name!));
      expect(consumers.map((n) => [n.opType, Number(n.attribute![0]!.i)])).toEqual([['Cast', ElemType.FLOAT16]]);
    }
    for (const output of graph.output!) {
      expect(output.type!.tensorType!.elemType).toBe(ElemType.FLOAT);
      const producer = nodes.find((n) => n.output!.includes(output.name!))!;
      expect([producer.opType, Number(producer.attribute![0]!.i)]).toEqual(['Cast', ElemType.FLOAT]);
    }
  });
});

describe('fp16 numbers on CPU', () => {
  const pixels = (seed: number): Float32Array => randomPixels(cfg.vision.imageSize, seed);

  it('text embeddings agree with fp32 (cosine > 0.9999), causal mask included', async () => {
    const tokenizer = await ClipTokenizer.fromFiles(
      path.join(modelDir, 'vocab.json'),
      path.join(modelDir, 'merges.txt'),
    );
    const e32 = createEncoder(fp32, { device: 'cpu', batchSize: 4 });
    const e16 = createEncoder(fp16, { device: 'cpu', batchSize: 4 });
    for (const text of ['', 'a cat', 'a photo of a large red circle on a blue-yellow gradient']) {
      const ids = tokenizer.encode(text, cfg.text.contextLength);
      const [a, b] = await Promise.all([e32.text(ids), e16.text(ids)]);
      expect(cosine(a, b)).toBeGreaterThan(0.9999);
    }
  });

  it('the FALIP bias on layers 1-4 moves the hidden state by far more than float16 rounding', async () => {
    const S = cfg.vision.imageSize;
    const T = visionTokens(cfg.vision);
    const px = pixels(1);
    const attention = falipBias([50, 60, 120, 100], S, S, cfg.vision, { layers: '1-4' });
    const hidden = async (graphs: ModelGraphs, bias: boolean) => {
      const session = await createSession(await graphs.path(visionGraph, { from: 0, to: 4, bias, capture: false }), {
        device: 'cpu',
      });
      const feeds = {
        pixel_values: floatTensor(px, [1, 3, S, S]),
        ...(bias && {
          attn_bias: floatTensor(attention.bias, [1, 1, T, T]),
          bias_gate: floatTensor(attention.gate, [cfg.vision.numLayers, cfg.vision.numHeads]),
        }),
      };
      return (await session.run(feeds)).hidden_out!.data as Float32Array;
    };
    const [plain32, plain16, biased32, biased16] = await Promise.all([
      hidden(fp32, false),
      hidden(fp16, false),
      hidden(fp32, true),
      hidden(fp16, true),
    ]);
    expect(hiddenErr(plain16, plain32)).toBeLessThan(1e-2); // measured 4e-3
    expect(hiddenErr(biased16, biased32)).toBeLessThan(1e-2);
    expect(hiddenErr(biased16, plain16)).toBeGreaterThan(2e-2); // measured 2.7e-2, as in fp32
  });

  it('image embeddings stay close to fp32 through the amplifying late layers', async () => {
    const e32 = createEncoder(fp32, { device: 'cpu', batchSize: 4 });
    const e16 = createEncoder(fp16, { device: 'cpu', batchSize: 4 });
    for (const seed of [1, 2, 3]) {
      const px = pixels(seed);
      const [a, b] = await Promise.all([e32.image(pixelInput(px), {}), e16.image(pixelInput(px), {})]);
      expect(cosine(a, b)).toBeGreaterThan(0.95); // measured 0.979 .. 0.998
    }
  });
});

describe('openEncoder', () => {
  it('refuses fp16 on CPU, and the encoder option group refuses unknown precisions', async () => {
    await expect(openEncoder({ model: modelDir, device: 'cpu', precision: 'fp16' })).rejects.toThrow(
      new UserError('--precision fp16 is for GPUs (--device cuda or webgpu); the CPU path stays fp32'),
    );
    expect(() =>
      encoderOptionsOf({ model: modelDir, device: 'cpu', precision: 'bf16', threads: undefined, batchSize: undefined }),
    ).toThrow(/--precision bf16: expected one of fp32, fp16/);
  });
});
