import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/model/tensor.js';
import { promptTensors, type TrainerName } from '../../src/model/learned-prompts/learned-prompts.js';
import {
  importPromptCheckpoint,
  type BaseClip,
  type ImportedPrompts,
} from '../../src/model/learned-prompts/prompt-checkpoint.js';
import { PROMPT_INFO_FILE, readPromptSet, writePromptSet } from '../../src/model/learned-prompts/prompt-set.js';
import { detectTrainer, roleOf } from '../../src/model/learned-prompts/trainer-layouts.js';
import { userErrorMessage } from '../helpers/errors.js';
import { expectMatchesSummary, pthFixture, REFERENCE, type TensorSummary } from '../helpers/pth-fixtures.js';
import { removeTinyModels, tinyModel, type TinyModel } from '../helpers/tiny-model.js';

let tiny: TinyModel;
let base: BaseClip;
const scratch = mkdtempSync(path.join(tmpdir(), 'falip-prompts-'));
beforeAll(async () => {
  tiny = await tinyModel();
  base = { config: tiny.config, weights: tiny.weights };
});
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await removeTinyModels();
});

/** What each fixture must give: which checkpoint tensor each prompt comes from (layer → name). */
interface Expected {
  trainer: TrainerName;
  ctx: string;
  ctxShape: number[];
  deepText: Record<number, string>;
  vision: null | { nCtx: number; shallow: string; deep: Record<number, string> } | { nCtx: number; computed: number[] };
  epoch: number | null;
  ignored: string[];
}

const EXPECTED: Record<string, Expected> = {
  'coop.pth.tar-10': {
    trainer: 'coop',
    ctx: 'ctx',
    ctxShape: [4, 64],
    deepText: {},
    vision: null,
    epoch: 10,
    ignored: ['token_prefix', 'token_suffix'],
  },
  // torch.save(state_dict()) of a DataParallel-wrapped learner: `module.` keys, no epoch.
  'coop-bare.pth': {
    trainer: 'coop',
    ctx: 'module.ctx',
    ctxShape: [4, 64],
    deepText: {},
    vision: null,
    epoch: null,
    ignored: ['token_prefix', 'token_suffix'],
  },
  'coop-csc.pth.tar-10': {
    trainer: 'coop',
    ctx: 'ctx',
    ctxShape: [3, 4, 64],
    deepText: {},
    vision: null,
    epoch: 10,
    ignored: ['token_prefix', 'token_suffix'],
  },
  'kgcoop.pth.tar-5': {
    trainer: 'kgcoop',
    ctx: 'ctx',
    ctxShape: [4, 64],
    deepText: {},
    vision: null,
    epoch: 5,
    ignored: ['bias_vectors', 'meta_net.linear1.bias', 'meta_net.linear1.weight', 'token_prefix', 'token_suffix'],
  },
  'ivlp.pth.tar-20': {
    trainer: 'ivlp',
    ctx: 'prompt_learner.ctx',
    ctxShape: [2, 64],
    // Text depth 3: blocks 1 and 2 take a deep prompt; vision depth 5: blocks 1..4.
    deepText: {
      1: 'text_encoder.transformer.resblocks.1.VPT_shallow',
      2: 'text_encoder.transformer.resblocks.2.VPT_shallow',
    },
    vision: {
      nCtx: 3,
      shallow: 'image_encoder.VPT',
      deep: Object.fromEntries([1, 2, 3, 4].map((i) => [i, `image_encoder.transformer.resblocks.${i}.VPT_shallow`])),
    },
    epoch: 20,
    ignored: ['prompt_learner.token_prefix', 'prompt_learner.token_suffix'],
  },
  'maple.pth.tar-5': {
    trainer: 'maple',
    ctx: 'prompt_learner.ctx',
    ctxShape: [2, 64],
    // MaPLe's compound prompt j serves block j+1.
    deepText: { 1: 'prompt_learner.compound_prompts_text.0', 2: 'prompt_learner.compound_prompts_text.1' },
    vision: { nCtx: 2, computed: [1, 2] },
    epoch: 5,
    ignored: ['prompt_learner.token_prefix', 'prompt_learner.token_suffix'],
  },
};

/** The frozen CLIP tensors of a fixture, counted from the script's reference (OpenAI names under CustomCLIP). */
function frozenCount(name: string): number {
  return Object.keys(REFERENCE[name]!.tensors).filter(
    (t) => /^(image_encoder\.|text_encoder\.|logit_scale$)/.test(t) && !/VPT/.test(t),
  ).length;
}

function expectPrompt(t: Tensor, ref: TensorSummary, what: string): void {
  expectMatchesSummary(t.data, t.shape, ref, what);
}

/** float32 results of a float64 computation: relative 1e-6 on each head value and on the sums. */
function expectComputed(t: Tensor, ref: TensorSummary, what: string): void {
  expect(t.shape, what).toEqual(ref.shape);
  const near = (a: number, b: number, label: string, scale = Math.abs(b)): void => {
    expect(Math.abs(a - b), `${what} ${label}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-6 * Math.max(scale, 1e-3));
  };
  ref.head.forEach((h, i) => {
    near(t.data[i]!, h as number, `[${i}]`);
  });
  let sum = 0;
  let wsum = 0;
  let abs = 0;
  t.data.forEach((x, i) => {
    sum += x;
    wsum += x * ((i % 97) + 1);
    abs += Math.abs(x) * ((i % 97) + 1);
  });
  near(sum, ref.sum, 'sum', abs);
  near(wsum, ref.wsum, 'weighted sum', abs);
}

describe('importPromptCheckpoint against the tiny model', () => {
  it.each(Object.keys(EXPECTED))('%s: detects the trainer and reads its prompts as torch saved them', async (name) => {
    const e = EXPECTED[name]!;
    const ref = REFERENCE[name]!.tensors;
    const imported = await importPromptCheckpoint(pthFixture(name), base);
    const p = imported.prompts;
    expect(p.trainer).toBe(e.trainer);
    expect(p.nCtx).toBe(e.ctxShape[e.ctxShape.length - 2]);
    expect(p.ctx.shape).toEqual(e.ctxShape);
    expectPrompt(p.ctx, ref[e.ctx]!, 'ctx');
    expect([...p.deepText.keys()]).toEqual(Object.keys(e.deepText).map(Number));
    for (const [layer, source] of Object.entries(e.deepText))
      expectPrompt(p.deepText.get(Number(layer))!, ref[source]!, `text layer ${layer}`);

    if (e.vision === null) {
      expect(p.vision).toBeUndefined();
    } else if ('shallow' in e.vision) {
      expect(p.vision!.nCtx).toBe(e.vision.nCtx);
      expectPrompt(p.vision!.shallow, ref[e.vision.shallow]!, 'vision shallow');
      expect([...p.vision!.deep.keys()]).toEqual(Object.keys(e.vision.deep).map(Number));
      for (const [layer, source] of Object.entries(e.vision.deep))
        expectPrompt(p.vision!.deep.get(Number(layer))!, ref[source]!, `vision layer ${layer}`);
    } else {
      // MaPLe: proj(ctx) and projection j (compound prompt j), against the script's float64 values.
      const computed = REFERENCE[name]!.vision!;
      expect(p.vision!.nCtx).toBe(e.vision.nCtx);
      expectComputed(p.vision!.shallow, computed.shallow!, 'vision shallow');
      expect([...p.vision!.deep.keys()]).toEqual(e.vision.computed);
      for (const layer of e.vision.computed)
        expectComputed(p.vision!.deep.get(layer)!, computed[`deep.${layer}`]!, `vision layer ${layer}`);
    }
    expect(imported.epoch).toBe(e.epoch);
    expect([...imported.ignored].sort()).toEqual(e.ignored);
    expect(imported.frozenCompared).toBe(frozenCount(name));
    expect(imported.checkpoint).toEqual({
      path: pthFixture(name),
      sha256: createHash('sha256')
        .update(readFileSync(pthFixture(name)))
        .digest('hex'),
    });
  });

  it('records where each prompt came from and in which dtype it was stored', async () => {
    const maple = await importPromptCheckpoint(pthFixture('maple.pth.tar-5'), base);
    expect(maple.sources.ctx).toEqual([{ tensor: 'prompt_learner.ctx', dtype: 'float16' }]);
    expect(maple.sources['vision.shallow']).toEqual([
      { tensor: 'prompt_learner.proj.weight', dtype: 'float16' },
      { tensor: 'prompt_learner.proj.bias', dtype: 'float16' },
      { tensor: 'prompt_learner.ctx', dtype: 'float16' },
    ]);
    expect(maple.sources['vision.deep.2']).toEqual([
      { tensor: 'prompt_learner.compound_prompt_projections.1.weight', dtype: 'float32' },
      { tensor: 'prompt_learner.compound_prompt_projections.1.bias', dtype: 'float32' },
      { tensor: 'prompt_learner.compound_prompts_text.1', dtype: 'float32' },
    ]);
    const ivlp = await importPromptCheckpoint(pthFixture('ivlp.pth.tar-20'), base);
    expect(Object.keys(ivlp.sources)).toEqual([...promptTensors(ivlp.prompts).keys()]);
    expect(ivlp.sources['vision.deep.4']).toEqual([
      { tensor: 'image_encoder.transformer.resblocks.4.VPT_shallow', dtype: 'float32' },
    ]);
  });

  it('reads the ZIP64 and deflated copies of a checkpoint as the original', async () => {
    const original = await importPromptCheckpoint(pthFixture('coop.pth.tar-10'), base);
    for (const copy of ['coop-zip64.pth.tar-10', 'coop-deflated.pth.tar-10']) {
      const imported = await importPromptCheckpoint(pthFixture(copy), base);
      expect(imported.prompts).toEqual(original.prompts);
    }
  });

  it('takes an explicit trainer: an IVLP-layout file read as PromptSRC (same layout, no ZS_image_encoder kept)', async () => {
    const imported = await importPromptCheckpoint(pthFixture('ivlp.pth.tar-20'), base, { trainer: 'promptsrc' });
    const asIvlp = await importPromptCheckpoint(pthFixture('ivlp.pth.tar-20'), base);
    expect(imported.prompts.trainer).toBe('promptsrc');
    expect({ ...imported.prompts, trainer: 'ivlp' }).toEqual(asIvlp.prompts);
  });
});

describe('trainer detection and tensor roles', () => {
  it('tells the five trainers apart by their tensor names', () => {
    expect(detectTrainer(['ctx', 'token_prefix', 'token_suffix'])).toBe('coop');
    expect(detectTrainer(['ctx', 'meta_net.linear1.weight'])).toBe('kgcoop');
    expect(detectTrainer(['prompt_learner.ctx', 'image_encoder.VPT', 'image_encoder.conv1.weight'])).toBe('ivlp');
    // PromptSRC keeps a frozen copy of the vision tower inside its prompt learner.
    expect(
      detectTrainer(['prompt_learner.ctx', 'image_encoder.VPT', 'prompt_learner.ZS_image_encoder.conv1.weight']),
    ).toBe('promptsrc');
    expect(detectTrainer(['prompt_learner.ctx', 'prompt_learner.proj.weight'])).toBe('maple');
    expect(detectTrainer(['visual.conv1.weight'])).toBeUndefined();
  });

  it("maps PromptSRC's frozen vision copy onto CLIP's vision tower, which IVLP does not have", () => {
    const name = 'prompt_learner.ZS_image_encoder.transformer.resblocks.0.attn.in_proj_weight';
    expect(roleOf('promptsrc', name)).toEqual({
      kind: 'frozen',
      openAiName: 'visual.transformer.resblocks.0.attn.in_proj_weight',
    });
    expect(roleOf('ivlp', name)).toBeUndefined();
    expect(roleOf('promptsrc', 'text_encoder.transformer.resblocks.3.VPT_shallow')).toEqual({
      kind: 'text-deep',
      layer: 3,
    });
    // MaPLe has no VPT tensors: they are neither prompts nor frozen weights there.
    expect(roleOf('maple', 'image_encoder.transformer.resblocks.3.VPT_shallow')).toBeUndefined();
    expect(roleOf('maple', 'prompt_learner.compound_prompt_projections.4.bias')).toEqual({
      kind: 'maple-projection',
      layer: 5,
      part: 'bias',
    });
  });
});

describe('refusals', () => {
  const refusal = async (
    name: string,
    why: string,
    options: Parameters<typeof importPromptCheckpoint>[2] = {},
    against?: BaseClip,
  ): Promise<void> => {
    const file = pthFixture(name);
    expect(await userErrorMessage(importPromptCheckpoint(file, against ?? base, options))).toBe(`${file}: ${why}`);
  };

  it('a ctx of the wrong width', async () => {
    await refusal('coop-wide.pth.tar-10', "ctx is 48 wide but the base model's text tower is 64 wide");
  });

  it('a deep prompt for a layer the base model lacks', async () => {
    await refusal(
      'maple-deep.pth.tar-5',
      "prompt_learner.compound_prompts_text.3 is the deep prompt of text layer 4, but the base model's text tower has 4 layers (0..3)",
    );
  });

  it('a checkpoint trained on another CLIP (the tiny model of seed 4)', async () => {
    const other = await tinyModel(4);
    const otherBase = { config: other.config, weights: other.weights };
    const why =
      "frozen tensor image_encoder.class_embedding differs from the base model's vision_model.embeddings.class_embedding by up to 3.91 (allowed 0.000245 for float32 values): the checkpoint was trained on a different CLIP";
    await refusal('ivlp.pth.tar-20', why, {}, otherBase);
    await refusal('maple.pth.tar-5', why, {}, otherBase);
  });

  it('compares float16-stored weights with float16 tolerance and float32 ones with float32 tolerance', async () => {
    /** The base with one value of `tensor` moved by `fraction` of the tensor's largest magnitude. */
    const nudged = (tensor: string, fraction: number): BaseClip => {
      const t = base.weights.get(tensor)!;
      const data = Float32Array.from(t.data);
      data[5]! += fraction * data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      return { config: base.config, weights: new Map([...base.weights, [tensor, { shape: t.shape, data }]]) };
    };
    const file = pthFixture('ivlp.pth.tar-20');
    // k_proj is stored as float16 inside in_proj_weight: 0.2 % is within float16 rounding, 5 % is not.
    const k = 'vision_model.encoder.layers.3.self_attn.k_proj.weight';
    await importPromptCheckpoint(file, nudged(k, 0.002));
    const message = await userErrorMessage(importPromptCheckpoint(file, nudged(k, 0.05)));
    const m =
      /^(.*) differs from the base model's (\S+) by up to (\S+) \(allowed (\S+) for float16 values\): the checkpoint was trained on a different CLIP$/.exec(
        message,
      );
    expect(m?.[1]).toBe(`${file}: frozen tensor image_encoder.transformer.resblocks.3.attn.in_proj_weight`);
    expect(m?.[2]).toBe(k);
    const scale = base.weights.get(k)!.data.reduce((mx, x) => Math.max(mx, Math.abs(x)), 0);
    expect(Number(m![3]) / scale).toBeCloseTo(0.05, 2);
    expect(Number(m![4]) / scale).toBeCloseTo(0.01, 4);
    // A LayerNorm weight is stored as float32: the same 0.2 % is refused.
    const ln = 'vision_model.encoder.layers.3.layer_norm1.weight';
    expect(await userErrorMessage(importPromptCheckpoint(file, nudged(ln, 0.002)))).toMatch(
      /frozen tensor image_encoder\.transformer\.resblocks\.3\.ln_1\.weight differs from the base model's vision_model\.encoder\.layers\.3\.layer_norm1\.weight by up to .* for float32 values/,
    );
  });

  it('a trainer named that the tensors contradict', async () => {
    await refusal(
      'ivlp.pth.tar-20',
      'tensor image_encoder.VPT is not in the maple layout (ignoring it would run a different model; its tensors look like ivlp)',
      { trainer: 'maple' },
    );
    await refusal(
      'coop.pth.tar-10',
      'tensor ctx is not in the ivlp layout (ignoring it would run a different model; its tensors look like coop)',
      { trainer: 'ivlp' },
    );
    await refusal(
      'kgcoop.pth.tar-5',
      'tensor bias_vectors is not in the coop layout (ignoring it would run a different model; its tensors look like kgcoop)',
      { trainer: 'coop' },
    );
  });

  it('a checkpoint without prompts, and one whose state dict holds more than tensors', async () => {
    await refusal(
      'small.pth',
      'no prompt tensors of CoOp, KgCoOp, IVLP, PromptSRC or MaPLe (no ctx or prompt_learner.ctx among its 2 tensors)',
    );
    await refusal('views.pth', 'state dict entry nested is not a tensor');
  });

  it('a hostile pickle, before anything else is looked at', async () => {
    await refusal(
      'hostile-reduce.pth',
      'refuses to load global posix.system (falip reads only tensors, dicts, lists, numbers, strings and optimizer/scheduler state)',
    );
  });
});

describe('prompt sets (registered prompts)', () => {
  const MODEL_SHA = 'ab'.repeat(32);
  let imported: Record<string, ImportedPrompts>;
  beforeAll(async () => {
    imported = {};
    for (const name of ['coop-csc.pth.tar-10', 'ivlp.pth.tar-20', 'maple.pth.tar-5'])
      imported[name] = await importPromptCheckpoint(pthFixture(name), base);
  });

  it.each(['coop-csc.pth.tar-10', 'ivlp.pth.tar-20', 'maple.pth.tar-5'])(
    '%s: reads back what was written, and says what it is',
    async (name) => {
      const dir = path.join(scratch, `set-${name}`);
      const written = await writePromptSet(dir, imported[name]!, MODEL_SHA);
      const { info, prompts } = await readPromptSet(dir);
      expect(prompts).toEqual(imported[name]!.prompts);
      expect(info).toEqual(written);
      const json = JSON.parse(readFileSync(path.join(dir, PROMPT_INFO_FILE), 'utf8'));
      expect(json.checkpoint).toEqual({ ...imported[name]!.checkpoint, epoch: imported[name]!.epoch });
      expect(json.model).toEqual({ sha256: MODEL_SHA });
      expect([json.trainer, json.nCtx, json.classes, json.textDepth, json.vision]).toEqual(
        {
          'coop-csc.pth.tar-10': ['coop', 4, 3, 1, null],
          'ivlp.pth.tar-20': ['ivlp', 2, null, 3, { nCtx: 3, depth: 5 }],
          'maple.pth.tar-5': ['maple', 2, null, 3, { nCtx: 2, depth: 3 }],
        }[name],
      );
    },
  );

  it('writes the same bytes for the same prompts', async () => {
    const a = path.join(scratch, 'same-a');
    const b = path.join(scratch, 'same-b');
    await writePromptSet(a, imported['maple.pth.tar-5']!, MODEL_SHA);
    await writePromptSet(b, imported['maple.pth.tar-5']!, MODEL_SHA);
    for (const f of readdirSync(a))
      expect(readFileSync(path.join(b, f)).equals(readFileSync(path.join(a, f))), f).toBe(true);
    // Registering again over a prompt set replaces it.
    await writePromptSet(a, imported['ivlp.pth.tar-20']!, MODEL_SHA);
    expect((await readPromptSet(a)).info.trainer).toBe('ivlp');
  });

  it('refuses to write into a folder that is not a prompt set, and changes nothing there', async () => {
    const dir = path.join(scratch, 'foreign');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(await userErrorMessage(writePromptSet(dir, imported['maple.pth.tar-5']!, MODEL_SHA))).toBe(
      `${dir}: exists and is not a falip prompt folder (it holds notes.txt); refusing to write into it`,
    );
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('refuses a prompt set whose JSON does not describe its tensors', async () => {
    const dir = path.join(scratch, 'tampered');
    await writePromptSet(dir, imported['ivlp.pth.tar-20']!, MODEL_SHA);
    const file = path.join(dir, PROMPT_INFO_FILE);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...json, textDepth: 5 }));
    expect(await userErrorMessage(readPromptSet(dir))).toBe(
      `${path.join(dir, 'prompts.safetensors')}: deep text prompts reach depth 3 but prompts.json says 5`,
    );
    writeFileSync(file, JSON.stringify({ ...json, trainer: 'vpt' }));
    expect(await userErrorMessage(readPromptSet(dir))).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: trainer: `),
    );
  });
});
