import { visionTokens, type ClipConfig, type VisionConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { attention, layerNorm, type TowerContext } from '../onnx/transformer-ops.js';
import { clsOf, embed, gateRow, mlpResidual, project, stackLayers, visionContext } from '../onnx/vision-ops.js';
import type { WeightsIndex } from '../onnx/weights-file.js';
import type { Feed, Feeds, GraphFamily } from './graph-family.js';
import {
  addBiasFeeds,
  declareBias,
  declareHidden,
  declarePixels,
  HIDDEN_IN,
  HIDDEN_OUT,
  hiddenFeed,
  IMAGE_EMBEDS,
  outputEmbeds,
  outputHidden,
  PIXEL_VALUES,
  pixelFeed,
  type GatedBias,
} from './vision-io.js';
import {
  addVisionPromptFeeds,
  declareVisionPrompts,
  promptedTokens,
  replaceDeepPrompts,
  tokensDim,
  type VisionPromptInputs,
} from './vision-prompts.js';

/** Where the feature-mask ablation multiplies token features by `token_scale`. */
export type TokenScaleSite = 'residual' | 'attn-input';

const TOKEN_SCALE = 'token_scale';
const TOKEN_SCALE_GATE = 'token_scale_gate';
const CLS_RESIDUAL = 'cls_residual';
const CLS_HEAD_OUT = 'cls_head_out';
const CLS_ATTN = 'cls_attn';
const ATTN_PROBS = 'attn_probs';

/**
 * One member of the vision family: layers [from, to) of the vision tower. Every member reads the same
 * weights file; a prefix (`to` < L) and a suffix (`from` > 0) split the layers for prefix sharing.
 */
export interface VisionGraphSpec {
  /** Layers [from, to) run by this graph, 0-based. */
  from: number;
  to: number;
  /** `attn_bias` [B,1|H,T,T] and `bias_gate` [L,H] inputs. */
  bias: boolean;
  /**
   * First layer that adds the gated bias (default `from`). Earlier layers carry no bias ops at all:
   * exact when their gates are 0, and it keeps a FALIP forward (bias in 9-12) as cheap as a plain one.
   */
  biasFrom?: number;
  /** Analysis outputs `cls_attn` [B,L,H,T], `cls_head_out` [B,L,H,D], `cls_residual` [B,D]. */
  capture: boolean;
  /** Feature-mask inputs `token_scale` [B,T] and `token_scale_gate` [L]. */
  tokenScale?: TokenScaleSite;
  /**
   * Output `attn_probs` [B,L,H,T,T]: every layer's attention probabilities, all query rows (seed 003's
   * attention statistics). Full forwards only (`from` 0, `to` L); prompted members may have it (T is
   * then T + n_v), so a prompt-tuned CLIP's attention can be read.
   */
  probs?: boolean;
  /**
   * Learned vision prompts as inputs (vision-prompts.ts): the sequence is T + n_v tokens, and every
   * tensor of length T above is T + n_v long. Not with `capture` or `tokenScale`.
   */
  prompted?: boolean;
}

/** The analysis outputs of one full forward (attention maps, head sensitivity, unleash). */
export interface ClsCapture {
  /** [P], not normalized. */
  imageEmbeds: Float32Array;
  /** [D] the CLS residual after the last layer, before ln_post. */
  clsResidual: Float32Array;
  /** [L·H·D] each head's CLS contribution after its slice of the out-projection (out-proj bias excluded). */
  clsHeadOut: Float32Array;
  /** [L·H·T] the CLS query's attention probabilities. */
  clsAttn: Float32Array;
}

/** What one request feeds a member; which fields it needs follows from the spec (checked). */
export interface VisionInputs {
  /** `from` = 0: the preprocessed image [3,S,S]; `from` > 0: the residual stream [T,D] before layer `from`. */
  start: Float32Array;
  /** With `bias`. */
  attention?: GatedBias;
  /** With `tokenScale`: the factor per token [T], and a [L] gate that is 1 on the layers it applies in. */
  tokenScale?: { scale: Float32Array; layers: Float32Array };
  /** With `prompted`; `start` and `attention` are then in the prompted sequence's length. */
  prompts?: VisionPromptInputs;
}

function specName(s: VisionGraphSpec): string {
  const biasFrom = s.biasFrom !== undefined && s.biasFrom > s.from ? `bias${s.biasFrom}` : 'bias';
  return [
    `vision-${s.from}-${s.to}`,
    s.bias ? biasFrom : '',
    s.capture ? 'capture' : '',
    s.tokenScale ? `ts-${s.tokenScale}` : '',
    s.probs ? 'probs' : '',
    s.prompted ? 'prompted' : '',
  ]
    .filter(Boolean)
    .join('-');
}

function checkSpec(spec: VisionGraphSpec, L: number): void {
  if (
    !(Number.isInteger(spec.from) && Number.isInteger(spec.to) && spec.from >= 0 && spec.from < spec.to && spec.to <= L)
  ) {
    throw new Error(`vision graph: layers [${spec.from}, ${spec.to}) outside [0, ${L})`);
  }
  if (spec.prompted && (spec.capture || spec.tokenScale))
    throw new Error('vision graph: prompted members have no capture or token scale');
  if (spec.probs && (spec.from !== 0 || spec.to !== L))
    throw new Error('vision graph: attention probabilities come from full forwards only');
}

function buildVisionGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  spec: VisionGraphSpec,
  precision: Precision,
): Uint8Array {
  checkSpec(spec, cfg.vision.numLayers);
  const g = new GraphBuilder(weightsFile, precision);
  layerRange(visionContext(cfg, g, index), cfg, spec);
  return g.toBytes(specName(spec));
}

export const visionGraph: GraphFamily<VisionGraphSpec> = {
  tower: 'vision',
  key: specName,
  build: buildVisionGraph,
};

/** Layers [from, to) on pixels or a hidden state, with optional bias, capture and token scale. */
function layerRange(c: TowerContext, cfg: ClipConfig, spec: VisionGraphSpec): void {
  const { g } = c;
  const v = cfg.vision;
  const L = v.numLayers;
  const T = visionTokens(v);

  const tokens = tokensDim(v, spec.prompted);
  const start = spec.from === 0 ? declarePixels(g, v) : declareHidden(g, v, tokens);
  const prompts = spec.prompted ? declareVisionPrompts(g, v) : undefined;
  let x = spec.from === 0 ? embed(c, cfg, start, prompts?.shallow) : start;
  const biased = spec.bias ? declareBias(g, v, tokens) : undefined;
  let scaleMinusOne: string | undefined;
  let scaleGate: string | undefined;
  if (spec.tokenScale) {
    const s = g.input(TOKEN_SCALE, ElemType.FLOAT, ['batch', T]);
    scaleGate = g.input(TOKEN_SCALE_GATE, ElemType.FLOAT, [L]);
    scaleMinusOne = g.op('Sub', [g.op('Unsqueeze', [s, g.constInt64([2])]), g.constFloat([1], [])]);
  }

  const clsAttn: string[] = [];
  const clsHeadOut: string[] = [];
  const probs: string[] = [];
  for (let l = spec.from; l < spec.to; l++) {
    const key = `v.l${l}`;
    if (prompts && l > 0) x = replaceDeepPrompts(g, x, prompts, l, T);
    // factor = 1 + gate_l·(s − 1): the scale where the gate is 1, identity where it is 0.
    const factor =
      scaleMinusOne && scaleGate
        ? g.op('Add', [
            g.op('Mul', [scaleMinusOne, g.op('Gather', [scaleGate, g.constInt64([l], [])], { axis: int(0) })]),
            g.constFloat([1], []),
          ])
        : undefined;
    if (factor && spec.tokenScale === 'residual') x = g.op('Mul', [x, factor]);
    let a = layerNorm(c, x, `${key}.ln1`);
    if (factor && spec.tokenScale === 'attn-input') a = g.op('Mul', [a, factor]);
    const layerBias =
      biased && l >= (spec.biasFrom ?? spec.from)
        ? g.op('Mul', [biased.bias, gateRow(g, biased.gate, l, v.numHeads)])
        : undefined;
    const att = attention(c, a, key, { bias: layerBias, captureCls: spec.capture });
    if (spec.probs) probs.push(att.probs);
    if (att.clsAttn && att.clsHeadOut) {
      clsAttn.push(att.clsAttn);
      clsHeadOut.push(att.clsHeadOut);
    }
    x = mlpResidual(c, g.op('Add', [x, att.out]), key);
  }

  if (spec.to < L) {
    outputHidden(g, v, x, tokens);
  } else {
    outputEmbeds(g, cfg, project(c, x));
    if (spec.capture) g.output(CLS_RESIDUAL, clsOf(g, x), ElemType.FLOAT, ['batch', v.hiddenSize]);
  }
  if (spec.probs) g.output(ATTN_PROBS, stackLayers(g, probs), ElemType.FLOAT, ['batch', L, v.numHeads, tokens, tokens]);
  if (spec.capture) {
    const n = spec.to - spec.from;
    g.output(CLS_ATTN, stackLayers(g, clsAttn), ElemType.FLOAT, ['batch', n, v.numHeads, T]);
    g.output(CLS_HEAD_OUT, stackLayers(g, clsHeadOut), ElemType.FLOAT, ['batch', n, v.numHeads, v.hiddenSize]);
  }
}

/** The feeds of one request to the member `spec`; a missing or surplus input is a caller's bug. */
export function visionFeeds(v: VisionConfig, spec: VisionGraphSpec, inputs: VisionInputs): Feeds {
  if (
    spec.bias !== (inputs.attention !== undefined) ||
    Boolean(spec.tokenScale) !== (inputs.tokenScale !== undefined) ||
    Boolean(spec.prompted) !== (inputs.prompts !== undefined)
  )
    throw new Error(`vision graph ${specName(spec)}: the request's inputs do not match the graph's`);
  const tokens = inputs.prompts ? promptedTokens(v, inputs.prompts) : visionTokens(v);
  const items: Record<string, Feed> =
    spec.from === 0
      ? { [PIXEL_VALUES]: pixelFeed(v, inputs.start) }
      : { [HIDDEN_IN]: hiddenFeed(v, inputs.start, tokens) };
  const shared: Record<string, Feed> = {};
  if (inputs.prompts) addVisionPromptFeeds(items, v, inputs.prompts);
  if (inputs.attention) addBiasFeeds({ items, shared }, v, inputs.attention, tokens);
  if (inputs.tokenScale) {
    const { scale, layers } = inputs.tokenScale;
    const T = visionTokens(v);
    if (scale.length !== T) throw new RangeError(`token scale of length ${scale.length}, expected ${T}`);
    items[TOKEN_SCALE] = { data: scale, dims: [T] };
    shared[TOKEN_SCALE_GATE] = { data: layers, dims: [v.numLayers] };
  }
  return { items, shared };
}

/** A prefix's (`to` < L) output: the residual stream after layer `to` − 1. */
export const HIDDEN_OUTPUTS = [HIDDEN_OUT] as const;

export function readHidden(out: Record<typeof HIDDEN_OUT, Float32Array>): Float32Array {
  return out[HIDDEN_OUT];
}

/** A full capture member's (`from` 0, `to` L, `capture`) outputs. */
export const CAPTURE_OUTPUTS = [IMAGE_EMBEDS, CLS_RESIDUAL, CLS_HEAD_OUT, CLS_ATTN] as const;

export function readCapture(out: Record<(typeof CAPTURE_OUTPUTS)[number], Float32Array>): ClsCapture {
  return {
    imageEmbeds: out[IMAGE_EMBEDS],
    clsResidual: out[CLS_RESIDUAL],
    clsHeadOut: out[CLS_HEAD_OUT],
    clsAttn: out[CLS_ATTN],
  };
}

/** A full forward's (`probs`) outputs: the embedding and every layer's attention probabilities. */
export const PROBS_OUTPUTS = [IMAGE_EMBEDS, ATTN_PROBS] as const;

/** Every layer's attention of one image: [L·H·T·T] row-major (layer, head, query, key), T with any prompt tokens. */
export interface AttentionProbs {
  imageEmbeds: Float32Array;
  probs: Float32Array;
  /** T: the image's tokens (CLS, patches) and then the prompt tokens. */
  tokens: number;
  /** n_v: the last `promptTokens` of the T are a prompt-tuned CLIP's vision prompts. */
  promptTokens: number;
}

export function readProbs(
  out: Record<(typeof PROBS_OUTPUTS)[number], Float32Array>,
  v: VisionConfig,
  promptTokens: number,
): AttentionProbs {
  return {
    imageEmbeds: out[IMAGE_EMBEDS],
    probs: out[ATTN_PROBS],
    tokens: visionTokens(v) + promptTokens,
    promptTokens,
  };
}
