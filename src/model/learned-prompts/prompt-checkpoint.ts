import { resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import { sha256OfFile } from '../../util/sha256.js';
import { withFsErrors } from '../../util/fs-errors.js';
import type { ClipConfig } from '../clip-config.js';
import type { Tensor, WeightMap } from '../tensor.js';
import { fromOpenAiName } from '../weight-names.js';
import type { LearnedPrompts, TrainerName } from './learned-prompts.js';
import { withPth, type FloatDtype, type FloatTensor, type PthFile } from './pth-file.js';
import { TensorRef } from './torch-unpickler.js';
import { detectTrainer, roleOf } from './trainer-layouts.js';

/** The base CLIP a prompt checkpoint is checked against (what `loadCheckpoint` returns, HF names). */
export interface BaseClip {
  config: ClipConfig;
  weights: WeightMap;
}

/** A checkpoint tensor a prompt was read or computed from, with the dtype it was stored in. */
export interface SourceTensor {
  tensor: string;
  dtype: FloatDtype;
}

export interface ImportedPrompts {
  prompts: LearnedPrompts;
  /** Dassl's `epoch` (null when the file has none). */
  epoch: number | null;
  /** The checkpoint file: absolute path and hex SHA-256. */
  checkpoint: { path: string; sha256: string };
  /** Per prompt tensor (names of `promptTensors`): the checkpoint tensors it comes from. */
  sources: Record<string, SourceTensor[]>;
  /** Checkpoint tensors falip does not use (class-token buffers, KgCoOp's meta_net and bias_vectors). */
  ignored: string[];
  /** Frozen CLIP tensors compared with the base model (0 for CoOp, KgCoOp and prompt-only files). */
  frozenCompared: number;
}

export interface ImportOptions {
  /** Overrides detection (needed to call a prompt-only PromptSRC checkpoint PromptSRC rather than IVLP). */
  trainer?: TrainerName;
}

/**
 * Largest |checkpoint − base| accepted for a frozen tensor, as a fraction of the base tensor's largest
 * magnitude. It covers rounding to the stored dtype (float16 keeps 11 significant bits, bfloat16 8) and
 * PromptSRC's Gaussian weight averaging, which re-sums every tensor over the epochs in its stored dtype;
 * a different CLIP differs by about the size of the weights themselves.
 */
const FROZEN_TOLERANCE: Record<FloatDtype, number> = { float64: 1e-4, float32: 1e-4, float16: 1e-2, bfloat16: 4e-2 };

/**
 * Reads the learned prompts of a CoOp, KgCoOp, IVLP, PromptSRC or MaPLe checkpoint (Dassl's torch.save
 * file, or a bare state dict) and checks them against `base`: every width, every deep prompt's layer,
 * and every frozen CLIP tensor the file holds. Any mismatch is a one-line UserError naming the tensor.
 */
export async function importPromptCheckpoint(
  path: string,
  base: BaseClip,
  options: ImportOptions = {},
): Promise<ImportedPrompts> {
  const read = await withPth(path, (pth) => readPrompts(pth, base, options));
  const sha256 = await withFsErrors(() => sha256OfFile(path));
  return { ...read, checkpoint: { path: resolve(path), sha256 } };
}

/** The checkpoint's tensors by name (a `module.` prefix stripped) and Dassl's epoch. */
function stateDict(pth: PthFile): { tensors: Map<string, TensorRef>; epoch: number | null } {
  const root = pth.root;
  const notStateDict = new UserError(
    `${pth.path}: holds no state dict (neither a dict of tensors nor Dassl's {state_dict, epoch, ...})`,
  );
  if (!(root instanceof Map)) throw notStateDict;
  const wrapped = root.get('state_dict');
  const dict = wrapped instanceof Map ? wrapped : root;
  const tensors = new Map<string, TensorRef>();
  for (const [key, value] of dict) {
    if (typeof key !== 'string') throw notStateDict;
    if (!(value instanceof TensorRef)) throw new UserError(`${pth.path}: state dict entry ${key} is not a tensor`);
    tensors.set(key.startsWith('module.') ? key.slice('module.'.length) : key, value);
  }
  const epoch = wrapped instanceof Map ? root.get('epoch') : undefined;
  return { tensors, epoch: typeof epoch === 'number' ? epoch : null };
}

/** The checkpoint's tensors sorted by role (names), before any of them is read. */
interface Layout {
  trainer: TrainerName;
  ctx: string;
  textDeep: Map<number, string>;
  visionShallow?: string;
  visionDeep: Map<number, string>;
  /** MaPLe: layer → its projection's weight and bias names (layer 0 is `proj`, applied to ctx). */
  projections: Map<number, { weight?: string; bias?: string }>;
  frozen: Array<{ name: string; openAiName: string }>;
  ignored: string[];
}

function layoutOf(path: string, names: string[], requested: TrainerName | undefined): Layout {
  const detected = detectTrainer(names);
  const trainer = requested ?? detected;
  if (!trainer) {
    throw new UserError(
      `${path}: no prompt tensors of CoOp, KgCoOp, IVLP, PromptSRC or MaPLe (no ctx or prompt_learner.ctx among its ${names.length} tensors)`,
    );
  }
  const layout: Layout = {
    trainer,
    ctx: '',
    textDeep: new Map(),
    visionDeep: new Map(),
    projections: new Map(),
    frozen: [],
    ignored: [],
  };
  for (const name of names) {
    const role = roleOf(trainer, name);
    if (!role) {
      const looks = detected && detected !== trainer ? `; its tensors look like ${detected}` : '';
      throw new UserError(
        `${path}: tensor ${name} is not in the ${trainer} layout (ignoring it would run a different model${looks})`,
      );
    }
    switch (role.kind) {
      case 'ctx':
        layout.ctx = name;
        break;
      case 'text-deep':
        layout.textDeep.set(role.layer, name);
        break;
      case 'vision-shallow':
        layout.visionShallow = name;
        break;
      case 'vision-deep':
        layout.visionDeep.set(role.layer, name);
        break;
      case 'maple-projection': {
        const p = layout.projections.get(role.layer) ?? {};
        p[role.part] = name;
        layout.projections.set(role.layer, p);
        break;
      }
      case 'frozen':
        layout.frozen.push({ name, openAiName: role.openAiName });
        break;
      case 'ignored':
        layout.ignored.push(name);
        break;
    }
  }
  if (!layout.ctx)
    throw new UserError(
      `${path}: no ${trainer === 'coop' || trainer === 'kgcoop' ? 'ctx' : 'prompt_learner.ctx'} (the ${trainer} context vectors)`,
    );
  return layout;
}

/** Checks every prompt tensor's shape against the base model, before any tensor is read. */
function checkShapes(
  path: string,
  layout: Layout,
  shapeOf: (name: string) => readonly number[],
  config: ClipConfig,
): void {
  const textWidth = config.text.hiddenSize;
  const visionWidth = config.vision.hiddenSize;
  const fail = (why: string): never => {
    throw new UserError(`${path}: ${why}`);
  };
  const shape = (name: string): string => `[${shapeOf(name).join(', ')}]`;
  const width = (name: string, tower: 'text' | 'vision'): void => {
    const s = shapeOf(name);
    const expected = tower === 'text' ? textWidth : visionWidth;
    if (s[s.length - 1] !== expected)
      fail(`${name} is ${s[s.length - 1]} wide but the base model's ${tower} tower is ${expected} wide`);
  };
  const layer = (name: string, i: number, tower: 'text' | 'vision'): void => {
    const layers = tower === 'text' ? config.text.numLayers : config.vision.numLayers;
    if (i < 1) fail(`${name} is a deep prompt of layer 0, which takes the shallow prompt`);
    if (i >= layers)
      fail(
        `${name} is the deep prompt of ${tower} layer ${i}, but the base model's ${tower} tower has ${layers} layers (0..${layers - 1})`,
      );
  };

  const classSpecificOk = layout.trainer === 'coop' || layout.trainer === 'kgcoop';
  const ctx = shapeOf(layout.ctx);
  if (ctx.length !== 2 && !(classSpecificOk && ctx.length === 3)) {
    fail(
      `${layout.ctx} has shape ${shape(layout.ctx)}; expected [n_ctx, width]${classSpecificOk ? ' or [n_cls, n_ctx, width]' : ''}`,
    );
  }
  width(layout.ctx, 'text');
  const nCtx = ctx[ctx.length - 2]!;
  const room = config.text.contextLength - 2;
  if (nCtx < 1 || nCtx > room)
    fail(
      `${layout.ctx} has ${nCtx} context tokens; the base model's ${config.text.contextLength}-token context holds 1..${room} beside SOS and EOS`,
    );

  const tokens = (name: string, n: number, of: string): void => {
    const s = shapeOf(name);
    if (s.length !== 2) fail(`${name} has shape ${shape(name)}; expected [tokens, width]`);
    if (s[0] !== n) fail(`${name} has ${s[0]} tokens but ${of} has ${n} (a deep prompt replaces those tokens)`);
  };
  for (const [i, name] of sorted(layout.textDeep)) {
    tokens(name, nCtx, layout.ctx);
    width(name, 'text');
    layer(name, i, 'text');
  }

  if (layout.visionShallow) {
    const s = shapeOf(layout.visionShallow);
    if (s.length !== 2 || s[0]! < 1)
      fail(`${layout.visionShallow} has shape ${shape(layout.visionShallow)}; expected [n_v, width]`);
    width(layout.visionShallow, 'vision');
    for (const [i, name] of sorted(layout.visionDeep)) {
      tokens(name, s[0]!, layout.visionShallow);
      width(name, 'vision');
      layer(name, i, 'vision');
    }
  } else if (layout.visionDeep.size > 0) {
    fail(`${[...layout.visionDeep.values()][0]} is a deep vision prompt but the checkpoint has no image_encoder.VPT`);
  }

  if (layout.trainer !== 'maple') return;
  if (!layout.projections.has(0)) fail(`no prompt_learner.proj.weight (MaPLe's shallow vision prompt is proj(ctx))`);
  const deepLayers = [...layout.textDeep.keys(), ...layout.projections.keys()];
  const last = Math.max(...deepLayers);
  for (let i = 0; i <= last; i++) {
    const textName = `prompt_learner.compound_prompts_text.${i - 1}`;
    const projName = i === 0 ? 'prompt_learner.proj' : `prompt_learner.compound_prompt_projections.${i - 1}`;
    if (i > 0 && !layout.textDeep.has(i))
      fail(`${textName} is missing (MaPLe's compound prompts are a list, 0..${last - 1})`);
    const p = layout.projections.get(i);
    if (!p?.weight || !p.bias) fail(`${projName}.${p?.weight ? 'bias' : 'weight'} is missing`);
    const w = shapeOf(p!.weight!);
    if (w.length !== 2) fail(`${p!.weight} has shape ${shape(p!.weight!)}; expected [vision width, text width]`);
    if (w[1] !== textWidth)
      fail(`${p!.weight} takes ${w[1]}-wide inputs but the base model's text tower is ${textWidth} wide`);
    if (w[0] !== visionWidth)
      fail(`${p!.weight} gives ${w[0]}-wide outputs but the base model's vision tower is ${visionWidth} wide`);
    const b = shapeOf(p!.bias!);
    if (b.length !== 1 || b[0] !== visionWidth)
      fail(`${p!.bias} has shape ${shape(p!.bias!)}; expected [${visionWidth}]`);
    if (i > 0) layer(`${projName}.weight`, i, 'vision');
  }
}

async function readPrompts(
  pth: PthFile,
  base: BaseClip,
  options: ImportOptions,
): Promise<Omit<ImportedPrompts, 'checkpoint'>> {
  const path = pth.path;
  const { tensors, epoch } = stateDict(pth);
  const layout = layoutOf(path, [...tensors.keys()], options.trainer);
  checkShapes(path, layout, (name) => tensors.get(name)!.shape, base.config);

  const sources: Record<string, SourceTensor[]> = {};
  const read = async (name: string, promptName?: string): Promise<FloatTensor> => {
    const t = await pth.readFloat(tensors.get(name)!, name);
    if (promptName) sources[promptName] = [{ tensor: name, dtype: t.dtype }];
    return t;
  };
  const ctx = await read(layout.ctx, 'ctx');
  const deepText = new Map<number, Tensor>();
  for (const [i, name] of sorted(layout.textDeep)) deepText.set(i, plain(await read(name, `text.deep.${i}`)));

  const prompts: LearnedPrompts = {
    trainer: layout.trainer,
    nCtx: ctx.shape[ctx.shape.length - 2]!,
    ctx: plain(ctx),
    deepText,
  };
  if (layout.visionShallow) {
    const shallow = await read(layout.visionShallow, 'vision.shallow');
    const deep = new Map<number, Tensor>();
    for (const [i, name] of sorted(layout.visionDeep)) deep.set(i, plain(await read(name, `vision.deep.${i}`)));
    prompts.vision = { nCtx: shallow.shape[0]!, shallow: plain(shallow), deep };
  } else if (layout.trainer === 'maple') {
    prompts.vision = await mapleVisionPrompts(layout, ctx, deepText, read, sources);
  }

  const frozenCompared = await compareFrozen(pth, tensors, layout, base.weights);
  return { prompts, epoch, sources, ignored: layout.ignored, frozenCompared };
}

/**
 * MaPLe's vision prompts, which its forward pass computes from the text ones: shallow = proj(ctx) and,
 * for each deep layer i, projection i-1 (compound_prompts_text.{i-1}); float64 sums, float32 results.
 */
async function mapleVisionPrompts(
  layout: Layout,
  ctx: FloatTensor,
  deepText: ReadonlyMap<number, Tensor>,
  read: (name: string) => Promise<FloatTensor>,
  sources: Record<string, SourceTensor[]>,
): Promise<LearnedPrompts['vision']> {
  const project = async (i: number, input: Tensor, inputSource: SourceTensor, promptName: string): Promise<Tensor> => {
    const names = layout.projections.get(i)!;
    const weight = await read(names.weight!);
    const bias = await read(names.bias!);
    sources[promptName] = [
      { tensor: names.weight!, dtype: weight.dtype },
      { tensor: names.bias!, dtype: bias.dtype },
      inputSource,
    ];
    return linear(input, weight, bias);
  };
  const shallow = await project(0, ctx, sources.ctx![0]!, 'vision.shallow');
  const deep = new Map<number, Tensor>();
  for (const i of [...deepText.keys()].sort((a, b) => a - b)) {
    deep.set(i, await project(i, deepText.get(i)!, sources[`text.deep.${i}`]![0]!, `vision.deep.${i}`));
  }
  return { nCtx: shallow.shape[0]!, shallow, deep };
}

/** x [n, in] · Wᵀ [in, out] + b [out] (torch's Linear), accumulated in float64. */
function linear(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const [n, inWidth] = x.shape as [number, number];
  const outWidth = weight.shape[0]!;
  const out = new Float32Array(n * outWidth);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outWidth; o++) {
      let sum = bias.data[o]!;
      for (let k = 0; k < inWidth; k++) sum += x.data[r * inWidth + k]! * weight.data[o * inWidth + k]!;
      out[r * outWidth + o] = sum;
    }
  }
  return { shape: [n, outWidth], data: out };
}

/** Compares each frozen tensor with the base model's, one at a time (a ViT-B checkpoint holds 150M values). */
async function compareFrozen(
  pth: PthFile,
  tensors: Map<string, TensorRef>,
  layout: Layout,
  base: WeightMap,
): Promise<number> {
  const path = pth.path;
  for (const { name, openAiName } of layout.frozen) {
    const stored = await pth.readFloat(tensors.get(name)!, name);
    for (const [hfName, t] of fromOpenAiName(openAiName, stored, path)) {
      const expected = base.get(hfName);
      if (!expected)
        throw new UserError(
          `${path}: frozen tensor ${name} has no counterpart (${hfName}) in the base model: the checkpoint was trained on a different CLIP`,
        );
      if (!sameShape(t.shape, expected.shape)) {
        throw new UserError(
          `${path}: frozen tensor ${name} gives ${hfName} shape [${t.shape.join(', ')}] but the base model's is [${expected.shape.join(', ')}]: the checkpoint was trained on a different CLIP`,
        );
      }
      let maxDiff = 0;
      let scale = 0;
      for (let i = 0; i < t.data.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(t.data[i]! - expected.data[i]!));
        scale = Math.max(scale, Math.abs(expected.data[i]!));
      }
      const allowed = FROZEN_TOLERANCE[stored.dtype] * scale;
      if (!(maxDiff <= allowed)) {
        throw new UserError(
          `${path}: frozen tensor ${name} differs from the base model's ${hfName} by up to ${maxDiff.toPrecision(3)} (allowed ${allowed.toPrecision(3)} for ${stored.dtype} values): the checkpoint was trained on a different CLIP`,
        );
      }
    }
  }
  return layout.frozen.length;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function sorted<T>(m: ReadonlyMap<number, T>): Array<[number, T]> {
  return [...m].sort(([a], [b]) => a - b);
}

/** A Tensor without the reader's dtype field. */
function plain(t: FloatTensor): Tensor {
  return { shape: t.shape, data: t.data };
}
