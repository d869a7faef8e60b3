/**
 * A prompt-tuned CLIP's towers, built by falip's own graph builder and run by the shared encoder, against
 * the independent float64 reference (test/reference/clip-reference.ts, extended with prompt tokens) on
 * the tiny model (seed 3), with the prompts of the committed CoOp, IVLP and MaPLe checkpoints (written by
 * torch.save, test/fixtures/pth). Tolerance as in onnx-vs-reference: max|diff| / ‖reference‖ < 1e-4.
 *
 * The reference takes the prompts as the checkpoint reader gives them (layer → tensor) and builds its
 * own prompted sequence and widened bias; the encoder takes them through the graph modules' inputs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoder } from '../../src/encoder/encoder.js';
import { createEncoder } from '../../src/encoder/open-encoder.js';
import type { AttentionBias, PromptMask } from '../../src/encoder/requests.js';
import type { ClipConfig } from '../../src/model/clip-config.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import { classContext, textPromptInputs } from '../../src/model/graphs/prompted-text-graph.js';
import { visionPromptInputs } from '../../src/model/graphs/vision-prompts.js';
import type { LearnedPrompts } from '../../src/model/learned-prompts/learned-prompts.js';
import { importPromptCheckpoint } from '../../src/model/learned-prompts/prompt-checkpoint.js';
import type { WeightMap } from '../../src/model/tensor.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { relErr } from '../helpers/compare.js';
import { pthFixture } from '../helpers/pth-fixtures.js';
import { falipBias, gateRows, pixelInput, randomPixels } from '../helpers/requests.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import { textForwardRef, visionForwardRef, type VisionPromptsRef } from '../reference/clip-reference.js';

const TOL = 1e-4;
const FIXTURES = {
  coop: 'coop.pth.tar-10',
  'coop-csc': 'coop-csc.pth.tar-10',
  ivlp: 'ivlp.pth.tar-20',
  maple: 'maple.pth.tar-5',
} as const;
type Fixture = keyof typeof FIXTURES;
/** The class names the fixtures were trained on (make-fixtures.py), in their order. */
const CLASSES = ['cat', 'sea_lion', 'tree'];

const dirs = useTempFalipDirs('falip-prompted-ref-');
let cfg: ClipConfig;
let weights: WeightMap;
let encoder: Encoder;
let unshared: Encoder;
let tokenizer: ClipTokenizer;
const learned = new Map<Fixture, LearnedPrompts>();

beforeAll(async () => {
  const tiny = await tinyModel();
  ({ config: cfg, weights } = tiny);
  const graphs = await ModelGraphs.open({ name: 't', sourceDir: tiny.dir, cacheDir: path.join(dirs.root(), 'cache') });
  encoder = createEncoder(graphs, { device: 'cpu', batchSize: 4 });
  unshared = createEncoder(graphs, { device: 'cpu', batchSize: 4, prefixSharing: false });
  tokenizer = await ClipTokenizer.fromFiles(path.join(tiny.dir, 'vocab.json'), path.join(tiny.dir, 'merges.txt'));
  for (const [name, file] of Object.entries(FIXTURES) as [Fixture, string][])
    learned.set(name, (await importPromptCheckpoint(pthFixture(file), tiny)).prompts);
});
afterAll(() => removeTinyModels());

const layers = (m: ReadonlyMap<number, { data: Float32Array }>) => new Map([...m].map(([l, t]) => [l, t.data]));

/** CoOp's prompt text: n_ctx X's, then the class name with `_` as spaces, then a full stop. */
const promptText = (nCtx: number, name: string) => `${Array(nCtx).fill('X').join(' ')} ${name.replaceAll('_', ' ')}.`;

describe('text tower with learned prompts', () => {
  it.each(Object.keys(FIXTURES) as Fixture[])('%s: every class text matches the float64 reference', async (name) => {
    const p = learned.get(name)!;
    const D = cfg.text.hiddenSize;
    const inputs = textPromptInputs(cfg.text, p, name);
    const xId = tokenizer.encode('X')[1]!;
    const results = await Promise.all(
      CLASSES.map(async (cls, c) => {
        const ids = tokenizer.encode(promptText(p.nCtx, cls), cfg.text.contextLength);
        // Positions 1..n_ctx are the X's the context replaces.
        expect(ids.slice(1, 1 + p.nCtx)).toEqual(Array(p.nCtx).fill(xId));
        const ctx = p.ctx.shape.length === 3 ? p.ctx.data.subarray(c * p.nCtx * D, (c + 1) * p.nCtx * D) : p.ctx.data;
        const onnx = await encoder.text(ids, { prompts: inputs, ctx: classContext(inputs, c, D) });
        const ref = textForwardRef(cfg, weights, ids, { ctx, deep: layers(p.deepText) });
        return { onnx, ref, plain: textForwardRef(cfg, weights, ids) };
      }),
    );
    for (const { onnx, ref, plain } of results) {
      expect(relErr(onnx, ref)).toBeLessThan(TOL);
      // The prompts matter: the plain text of the same ids is far from it.
      expect(relErr(onnx, plain)).toBeGreaterThan(10 * TOL);
    }
  });

  it('texts of one prompt set batch together and equal the texts run alone', async () => {
    const p = learned.get('ivlp')!;
    const inputs = textPromptInputs(cfg.text, p, 'ivlp-batch');
    const ids = CLASSES.map((c) => tokenizer.encode(promptText(p.nCtx, c), cfg.text.contextLength));
    const single: Float32Array[] = [];
    for (const i of ids) single.push(await encoder.text(i, { prompts: inputs, ctx: inputs.ctx }));
    const before = encoder.stats().batches;
    const batched = await Promise.all(ids.map((i) => encoder.text(i, { prompts: inputs, ctx: inputs.ctx })));
    expect(encoder.stats().batches - before).toBe(1);
    batched.forEach((b, k) => {
      expect(relErr(b, single[k]!)).toBeLessThan(1e-6);
    });
  });
});

describe('image tower with learned prompts', () => {
  const BOX = [60, 40, 90, 120] as const;
  const W = 224;
  const H = 224;

  function refPrompts(p: LearnedPrompts, mask: PromptMask): VisionPromptsRef {
    return { shallow: p.vision!.shallow.data, deep: layers(p.vision!.deep), mask };
  }

  function reference(pixels: Float32Array, p: LearnedPrompts, attention?: AttentionBias, mask: PromptMask = 'zero') {
    return visionForwardRef(cfg, weights, pixels, {
      prompts: refPrompts(p, mask),
      ...(attention && { attnBias: attention.bias, biasGate: gateRows(attention.gate, cfg.vision.numHeads) }),
    }).imageEmbeds;
  }

  it.each(['ivlp', 'maple'] as const)('%s: the prompted image matches the float64 reference', async (name) => {
    const p = learned.get(name)!;
    const pixels = randomPixels(cfg.vision.imageSize, 11);
    const prompts = visionPromptInputs(cfg.vision, p.vision!, name, 'zero');
    const onnx = await encoder.image(pixelInput(pixels), { prompts });
    expect(relErr(onnx, reference(pixels, p))).toBeLessThan(TOL);
    const plain = visionForwardRef(cfg, weights, pixels).imageEmbeds;
    expect(relErr(onnx, plain)).toBeGreaterThan(10 * TOL);
  });

  describe.each(['ivlp', 'maple'] as const)('%s with FALIP', (name) => {
    it.each([
      ['a', 'zero'],
      ['a', 'cls'],
      ['b', 'zero'],
      ['b', 'cls'],
      ['c', 'zero'],
    ] as const)('form %s, prompt mask %s: shared-prefix and unshared paths match the reference', async (form, mask) => {
      const p = learned.get(name)!;
      const pixels = randomPixels(cfg.vision.imageSize, 23);
      const prompts = visionPromptInputs(cfg.vision, p.vision!, `${name}|${mask}`, mask);
      const attention = falipBias([...BOX], W, H, cfg.vision, { form, alpha: 2 });
      const key = `${name}-${form}-${mask}`;
      const before = encoder.stats().prefixRuns;
      // Form a takes the CLS-row split, b and c the prefix and suffix; both share the prefix across boxes.
      const [shared, sharedAgain, full] = await Promise.all([
        encoder.image(pixelInput(pixels, key), { attention, prompts }),
        encoder.image(pixelInput(pixels, key), {
          attention: falipBias([0, 0, 50, 50], W, H, cfg.vision, { form, alpha: 2 }),
          prompts,
        }),
        unshared.image(pixelInput(pixels), { attention, prompts }),
      ]);
      expect(encoder.stats().prefixRuns - before).toBe(1);
      const ref = reference(pixels, p, attention, mask);
      expect(relErr(shared, ref)).toBeLessThan(TOL);
      expect(relErr(full, ref)).toBeLessThan(TOL);
      expect(relErr(sharedAgain, ref)).toBeGreaterThan(10 * TOL);
    });

    it("the 'cls' mask differs from 'zero' (CLS attends to the prompts at the mask's peak)", async () => {
      const p = learned.get(name)!;
      const pixels = randomPixels(cfg.vision.imageSize, 29);
      const attention = falipBias([...BOX], W, H, cfg.vision, { alpha: 2 });
      const [zero, cls] = await Promise.all(
        (['zero', 'cls'] as const).map((mask) =>
          unshared.image(pixelInput(pixels), {
            attention,
            prompts: visionPromptInputs(cfg.vision, p.vision!, `${name}|${mask}`, mask),
          }),
        ),
      );
      expect(relErr(cls!, zero!)).toBeGreaterThan(10 * TOL);
    });
  });

  it('one image under two prompt sets runs one prefix per set, and neither leaks into the other', async () => {
    const pixels = randomPixels(cfg.vision.imageSize, 31);
    const attention = falipBias([...BOX], W, H, cfg.vision, { alpha: 2 });
    const before = encoder.stats().prefixRuns;
    const [ivlp, maple, none] = await Promise.all([
      ...(['ivlp', 'maple'] as const).map((name) =>
        encoder.image(pixelInput(pixels, 'two-sets'), {
          attention,
          prompts: visionPromptInputs(cfg.vision, learned.get(name)!.vision!, name, 'zero'),
        }),
      ),
      encoder.image(pixelInput(pixels, 'two-sets'), { attention }),
    ]);
    expect(encoder.stats().prefixRuns - before).toBe(3);
    expect(relErr(ivlp!, reference(pixels, learned.get('ivlp')!, attention))).toBeLessThan(TOL);
    expect(relErr(maple!, reference(pixels, learned.get('maple')!, attention))).toBeLessThan(TOL);
    const plain = visionForwardRef(cfg, weights, pixels, {
      attnBias: attention.bias,
      biasGate: gateRows(attention.gate, cfg.vision.numHeads),
    }).imageEmbeds;
    expect(relErr(none!, plain)).toBeLessThan(TOL);
  });

  it('refuses ablations and analyses on prompted images', async () => {
    const prompts = visionPromptInputs(cfg.vision, learned.get('ivlp')!.vision!, 'ivlp', 'zero');
    const pixels = randomPixels(cfg.vision.imageSize, 37);
    await expect(
      encoder.image(pixelInput(pixels), {
        prompts,
        ablation: { kind: 'two-stream', probabilitiesFrom: 'edited', layers: [11] },
      }),
    ).rejects.toThrow('the two-stream ablation does not run on a prompt-tuned CLIP');
    await expect(encoder.capture(pixelInput(pixels), { prompts })).rejects.toThrow(
      'does not run on a prompt-tuned CLIP',
    );
  });
});
