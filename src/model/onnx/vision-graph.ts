import { visionTokens, type ClipConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int, ints } from './graph-builder.js';
import type { Precision } from './precision.js';
import { attention, layerNorm, mlp, type TowerContext } from './transformer-ops.js';
import type { WeightsIndex } from './weights-file.js';

/** Where the feature-mask ablation multiplies token features by `token_scale`. */
export type TokenScaleSite = 'residual' | 'attn-input';

/**
 * One member of the vision graph family (DESIGN §3). Every variant has the same weights file;
 * the prefix/suffix pair splits the layers for prefix sharing.
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
}

export function visionSpecName(s: VisionGraphSpec): string {
  const biasFrom = s.biasFrom !== undefined && s.biasFrom > s.from ? `bias${s.biasFrom}` : 'bias';
  return [`vision-${s.from}-${s.to}`, s.bias ? biasFrom : '', s.capture ? 'capture' : '', s.tokenScale ? `ts-${s.tokenScale}` : '']
    .filter(Boolean)
    .join('-');
}

function context(cfg: ClipConfig, g: GraphBuilder, index: WeightsIndex): TowerContext {
  return {
    g,
    tower: cfg.vision,
    act: cfg.hiddenAct,
    weight: (key) => {
      const t = index[key];
      if (!t) throw new Error(`vision weights index has no ${key}`);
      return g.external(key, t);
    },
  };
}

/** pixels [B,3,S,S] → patch tokens with CLS prepended, positions added, ln_pre: [B,T,D]. */
function embed(c: TowerContext, cfg: ClipConfig, pixels: string): string {
  const { g } = c;
  const d = cfg.vision.hiddenSize;
  const p = cfg.vision.patchSize;
  const conv = g.op('Conv', [pixels, c.weight('v.patch')], { kernel_shape: ints([p, p]), strides: ints([p, p]) });
  // Row-major flattening of the grid: token 1 + row·G + col, as CLIP's conv → reshape.
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constInt64([0, d, -1])])], { perm: ints([0, 2, 1]) });
  const batch = g.op('Slice', [g.op('Shape', [pixels]), g.constInt64([0]), g.constInt64([1])]);
  const cls = g.op('Expand', [c.weight('v.cls'), g.op('Concat', [batch, g.constInt64([1, d])], { axis: int(0) })]);
  const tokens = g.op('Concat', [cls, patches], { axis: int(1) });
  return layerNorm(c, g.op('Add', [tokens, c.weight('v.pos')]), 'v.ln_pre');
}

function project(c: TowerContext, residual: string): string {
  const cls = c.g.op('Gather', [residual, c.g.constInt64([0], [])], { axis: int(1) });
  return c.g.op('MatMul', [layerNorm(c, cls, 'v.ln_post'), c.weight('v.proj')]);
}

/** bias_gate row l as [1,H,1,1], so one attention bias serves any choice of layers and heads. */
function gateRow(g: GraphBuilder, gate: string, layer: number, heads: number): string {
  return g.op('Reshape', [g.op('Gather', [gate, g.constInt64([layer], [])], { axis: int(0) }), g.constInt64([1, heads, 1, 1])]);
}

/** Stacks per-layer [B,...] tensors into [B,L,...]. */
function stackLayers(g: GraphBuilder, perLayer: string[]): string {
  return g.op('Concat', perLayer.map((t) => g.op('Unsqueeze', [t, g.constInt64([1])])), { axis: int(1) });
}

export function buildVisionGraph(cfg: ClipConfig, index: WeightsIndex, weightsFile: string, spec: VisionGraphSpec, precision: Precision = 'fp32'): Uint8Array {
  const v = cfg.vision;
  const L = v.numLayers;
  const T = visionTokens(v);
  const S = v.imageSize;
  const g = new GraphBuilder(weightsFile, precision);
  const c = context(cfg, g, index);

  let x =
    spec.from === 0
      ? embed(c, cfg, g.input('pixel_values', ElemType.FLOAT, ['batch', 3, S, S]))
      : g.input('hidden_in', ElemType.FLOAT, ['batch', T, v.hiddenSize]);
  const bias = spec.bias ? g.input('attn_bias', ElemType.FLOAT, ['batch', 'bias_heads', T, T]) : undefined;
  const gate = spec.bias ? g.input('bias_gate', ElemType.FLOAT, [L, v.numHeads]) : undefined;
  let scaleMinusOne: string | undefined;
  let scaleGate: string | undefined;
  if (spec.tokenScale) {
    const s = g.input('token_scale', ElemType.FLOAT, ['batch', T]);
    scaleGate = g.input('token_scale_gate', ElemType.FLOAT, [L]);
    scaleMinusOne = g.op('Sub', [g.op('Unsqueeze', [s, g.constInt64([2])]), g.constFloat([1], [])]);
  }

  const clsAttn: string[] = [];
  const clsHeadOut: string[] = [];
  for (let l = spec.from; l < spec.to; l++) {
    const key = `v.l${l}`;
    // factor = 1 + gate_l·(s − 1): the scale where the gate is 1, identity where it is 0.
    const factor =
      scaleMinusOne && scaleGate
        ? g.op('Add', [g.op('Mul', [scaleMinusOne, g.op('Gather', [scaleGate, g.constInt64([l], [])], { axis: int(0) })]), g.constFloat([1], [])])
        : undefined;
    if (factor && spec.tokenScale === 'residual') x = g.op('Mul', [x, factor]);
    let a = layerNorm(c, x, `${key}.ln1`);
    if (factor && spec.tokenScale === 'attn-input') a = g.op('Mul', [a, factor]);
    const layerBias = bias && gate && l >= (spec.biasFrom ?? spec.from) ? g.op('Mul', [bias, gateRow(g, gate, l, v.numHeads)]) : undefined;
    const att = attention(c, a, key, { bias: layerBias, captureCls: spec.capture });
    if (att.clsAttn && att.clsHeadOut) {
      clsAttn.push(att.clsAttn);
      clsHeadOut.push(att.clsHeadOut);
    }
    x = g.op('Add', [x, att.out]);
    x = g.op('Add', [x, mlp(c, layerNorm(c, x, `${key}.ln2`), key)]);
  }

  if (spec.to < L) {
    g.output('hidden_out', x, ElemType.FLOAT, ['batch', T, v.hiddenSize]);
  } else {
    g.output('image_embeds', project(c, x), ElemType.FLOAT, ['batch', cfg.projectionDim]);
    if (spec.capture) g.output('cls_residual', g.op('Gather', [x, g.constInt64([0], [])], { axis: int(1) }), ElemType.FLOAT, ['batch', v.hiddenSize]);
  }
  if (spec.capture) {
    const n = spec.to - spec.from;
    g.output('cls_attn', stackLayers(g, clsAttn), ElemType.FLOAT, ['batch', n, v.numHeads, T]);
    g.output('cls_head_out', stackLayers(g, clsHeadOut), ElemType.FLOAT, ['batch', n, v.numHeads, v.hiddenSize]);
  }
  return g.toBytes(visionSpecName(spec));
}

/**
 * The q/k/v-replacement ablation (Table 5): two streams with shared weights. The "probs" stream runs
 * normally on `pixel_values_probs` (with gate·bias on its logits); in layers where `swap_gate` is 1 the
 * "out" stream (`pixel_values`) multiplies its own V by the probs stream's attention probabilities.
 * Output: the out stream's `image_embeds`.
 */
export function buildTwoStreamGraph(cfg: ClipConfig, index: WeightsIndex, weightsFile: string, precision: Precision = 'fp32'): Uint8Array {
  const v = cfg.vision;
  const L = v.numLayers;
  const T = visionTokens(v);
  const S = v.imageSize;
  const g = new GraphBuilder(weightsFile, precision);
  const c = context(cfg, g, index);
  let out = embed(c, cfg, g.input('pixel_values', ElemType.FLOAT, ['batch', 3, S, S]));
  let probsStream = embed(c, cfg, g.input('pixel_values_probs', ElemType.FLOAT, ['batch', 3, S, S]));
  const bias = g.input('attn_bias', ElemType.FLOAT, ['batch', 'bias_heads', T, T]);
  const gate = g.input('bias_gate', ElemType.FLOAT, [L, v.numHeads]);
  const swap = g.input('swap_gate', ElemType.FLOAT, [L]);
  const one = g.constFloat([1], []);
  for (let l = 0; l < L; l++) {
    const key = `v.l${l}`;
    const p = attention(c, layerNorm(c, probsStream, `${key}.ln1`), key, { bias: g.op('Mul', [bias, gateRow(g, gate, l, v.numHeads)]) });
    probsStream = g.op('Add', [probsStream, p.out]);
    probsStream = g.op('Add', [probsStream, mlp(c, layerNorm(c, probsStream, `${key}.ln2`), key)]);
    const s = g.op('Gather', [swap, g.constInt64([l], [])], { axis: int(0) });
    // P = s·P_probs + (1 − s)·P_out: exact for s ∈ {0, 1}.
    const mix = (own: string) => g.op('Add', [g.op('Mul', [p.probs, s]), g.op('Mul', [own, g.op('Sub', [one, s])])]);
    const o = attention(c, layerNorm(c, out, `${key}.ln1`), key, { mixProbs: mix });
    out = g.op('Add', [out, o.out]);
    out = g.op('Add', [out, mlp(c, layerNorm(c, out, `${key}.ln2`), key)]);
  }
  g.output('image_embeds', project(c, out), ElemType.FLOAT, ['batch', cfg.projectionDim]);
  return g.toBytes('vision-two-stream');
}

/** ln_post + projection of CLS residual vectors [B,D] → [B,P], for the post-hoc unleash recomposition. */
export function buildClsProjectionGraph(cfg: ClipConfig, index: WeightsIndex, weightsFile: string, precision: Precision = 'fp32'): Uint8Array {
  const g = new GraphBuilder(weightsFile, precision);
  const c = context(cfg, g, index);
  const cls = g.input('cls_residual', ElemType.FLOAT, ['batch', cfg.vision.hiddenSize]);
  g.output('image_embeds', g.op('MatMul', [layerNorm(c, cls, 'v.ln_post'), c.weight('v.proj')]), ElemType.FLOAT, ['batch', cfg.projectionDim]);
  return g.toBytes('vision-cls-projection');
}
