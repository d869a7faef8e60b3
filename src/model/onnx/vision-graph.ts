import { visionTokens, type ClipConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int } from './graph-builder.js';
import type { Precision } from './precision.js';
import {
  attention,
  clsQueryLogits,
  clsRowAttention,
  layerNorm,
  mlp,
  towerContext,
  type TowerContext,
} from './transformer-ops.js';
import { clsOf, clsRow, embed, gateRow, stackLayers } from './vision-ops.js';
import type { WeightsIndex } from './weights-file.js';

/** Where the feature-mask ablation multiplies token features by `token_scale`. */
export type TokenScaleSite = 'residual' | 'attn-input';

/**
 * The two halves of the CLS-row split of the first biased layer k (see `VisionGraphSpec.clsRowSplit`).
 * - 'prefix' (`from` 0, `to` k + 1, no bias): layers [0, k] without bias. Outputs `hidden_out` [B,T,D], the
 *   state after layer k (its CLS row is replaced per box; absent when k is the last layer, whose patch rows
 *   nothing reads), and of layer k: `cls_in` [B,D], its input CLS row (the residual); `cls_logits` [B,H,T],
 *   its CLS query's scaled logits before the bias; `cls_values` [B,H,T,dh], its value heads.
 * - 'per-box' (`from` k, `to` L, with bias): inputs `hidden_in` (the prefix's `hidden_out`; absent when
 *   k = L − 1), `cls_in`, `cls_logits`, `cls_values` (batched per box), `attn_bias`, `bias_gate`. Computes
 *   layer k's CLS row with row 0 of the gated bias (softmax, ·V, out-projection, residual, LN2 + MLP on
 *   that row), writes it into the hidden state, runs layers k+1..L−1 with the gated bias, and of the last
 *   layer only the CLS row (the only row `image_embeds` reads). Output `image_embeds`.
 */
export type ClsRowSplit = 'prefix' | 'per-box';

/**
 * One member of the vision graph family. Every variant has the same weights file;
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
  /**
   * Moves the patch rows of the first biased layer k into the per-image part (REC with many boxes per image).
   * When only the CLS query row of the bias is non-zero (FALIP form a), layer k's patch outputs are the same
   * for every box: patch queries see no bias, and keys and values come from the unbiased layer input. So
   * the 'prefix' graph computes layer k unbiased once per image and the 'per-box' graph redoes only its CLS
   * row (see ClsRowSplit for the tensors between them). Together they equal the biased forward exactly.
   *
   * Contract: the caller must use the pair only when rows 1..T−1 of every bias are zero (isClsRowOnlyBias).
   * Otherwise the result is not the biased forward: the prefix ran layer k's patch rows without their bias.
   * Not combined with `capture`, `tokenScale` or `biasFrom`.
   */
  clsRowSplit?: ClsRowSplit;
}

/**
 * Whether an attention bias meets the `clsRowSplit` contract: in each head's T×T plane of `bias` ([T,T] or
 * [H,T,T], row-major) only row 0, the CLS query's, holds non-zero values.
 */
export function isClsRowOnlyBias(bias: Float32Array, tokens: number): boolean {
  const plane = tokens * tokens;
  if (bias.length % plane !== 0)
    throw new Error(`attention bias of ${bias.length} values is not a stack of ${tokens}×${tokens} planes`);
  for (let start = 0; start < bias.length; start += plane) {
    for (let i = start + tokens; i < start + plane; i++) if (bias[i] !== 0) return false;
  }
  return true;
}

export function visionSpecName(s: VisionGraphSpec): string {
  const biasFrom = s.biasFrom !== undefined && s.biasFrom > s.from ? `bias${s.biasFrom}` : 'bias';
  return [
    `vision-${s.from}-${s.to}`,
    s.bias ? biasFrom : '',
    s.capture ? 'capture' : '',
    s.tokenScale ? `ts-${s.tokenScale}` : '',
    s.clsRowSplit ? `clsrow-${s.clsRowSplit}` : '',
  ]
    .filter(Boolean)
    .join('-');
}

function context(cfg: ClipConfig, g: GraphBuilder, index: WeightsIndex): TowerContext {
  return towerContext(g, index, 'vision', cfg.vision, cfg.hiddenAct);
}

/** ln_post(CLS residual [B,D] or [B,1,D]) · proj. */
function projectCls(c: TowerContext, cls: string): string {
  return c.g.op('MatMul', [layerNorm(c, cls, 'v.ln_post'), c.weight('v.proj')]);
}

function project(c: TowerContext, residual: string): string {
  return projectCls(c, clsOf(c.g, residual));
}

/** The second half of a block on its residual `x` (all rows or the CLS row): x + MLP(LN2(x)). */
function mlpResidual(c: TowerContext, x: string, key: string): string {
  return c.g.op('Add', [x, mlp(c, layerNorm(c, x, `${key}.ln2`), key)]);
}

function checkSpec(spec: VisionGraphSpec, L: number): void {
  if (
    !(Number.isInteger(spec.from) && Number.isInteger(spec.to) && spec.from >= 0 && spec.from < spec.to && spec.to <= L)
  ) {
    throw new Error(`vision graph: layers [${spec.from}, ${spec.to}) outside [0, ${L})`);
  }
  if (!spec.clsRowSplit) return;
  if (spec.capture || spec.tokenScale || spec.biasFrom !== undefined)
    throw new Error('vision graph: clsRowSplit takes no capture, tokenScale or biasFrom');
  if (spec.clsRowSplit === 'prefix' && (spec.from !== 0 || spec.bias))
    throw new Error("vision graph: the 'prefix' CLS-row split runs layers [0, k + 1) without bias");
  if (spec.clsRowSplit === 'per-box' && (spec.to !== L || !spec.bias))
    throw new Error(`vision graph: the 'per-box' CLS-row split runs layers [k, ${L}) with the bias`);
}

export function buildVisionGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  spec: VisionGraphSpec,
  precision: Precision = 'fp32',
): Uint8Array {
  checkSpec(spec, cfg.vision.numLayers);
  const g = new GraphBuilder(weightsFile, precision);
  const c = context(cfg, g, index);
  if (spec.clsRowSplit === 'prefix') clsRowPrefix(c, cfg, spec.to - 1);
  else if (spec.clsRowSplit === 'per-box') clsRowPerBox(c, cfg, spec.from);
  else layerRange(c, cfg, spec);
  return g.toBytes(visionSpecName(spec));
}

/** The plain family: layers [from, to) on pixels or a hidden state, with optional bias, capture and token scale. */
function layerRange(c: TowerContext, cfg: ClipConfig, spec: VisionGraphSpec): void {
  const { g } = c;
  const v = cfg.vision;
  const L = v.numLayers;
  const T = visionTokens(v);
  const S = v.imageSize;

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
        ? g.op('Add', [
            g.op('Mul', [scaleMinusOne, g.op('Gather', [scaleGate, g.constInt64([l], [])], { axis: int(0) })]),
            g.constFloat([1], []),
          ])
        : undefined;
    if (factor && spec.tokenScale === 'residual') x = g.op('Mul', [x, factor]);
    let a = layerNorm(c, x, `${key}.ln1`);
    if (factor && spec.tokenScale === 'attn-input') a = g.op('Mul', [a, factor]);
    const layerBias =
      bias && gate && l >= (spec.biasFrom ?? spec.from)
        ? g.op('Mul', [bias, gateRow(g, gate, l, v.numHeads)])
        : undefined;
    const att = attention(c, a, key, { bias: layerBias, captureCls: spec.capture });
    if (att.clsAttn && att.clsHeadOut) {
      clsAttn.push(att.clsAttn);
      clsHeadOut.push(att.clsHeadOut);
    }
    x = mlpResidual(c, g.op('Add', [x, att.out]), key);
  }

  if (spec.to < L) {
    g.output('hidden_out', x, ElemType.FLOAT, ['batch', T, v.hiddenSize]);
  } else {
    g.output('image_embeds', project(c, x), ElemType.FLOAT, ['batch', cfg.projectionDim]);
    if (spec.capture) g.output('cls_residual', clsOf(g, x), ElemType.FLOAT, ['batch', v.hiddenSize]);
  }
  if (spec.capture) {
    const n = spec.to - spec.from;
    g.output('cls_attn', stackLayers(g, clsAttn), ElemType.FLOAT, ['batch', n, v.numHeads, T]);
    g.output('cls_head_out', stackLayers(g, clsHeadOut), ElemType.FLOAT, ['batch', n, v.numHeads, v.hiddenSize]);
  }
}

/** The per-image half of the CLS-row split at layer k (ClsRowSplit 'prefix'). */
function clsRowPrefix(c: TowerContext, cfg: ClipConfig, k: number): void {
  const { g } = c;
  const v = cfg.vision;
  const T = visionTokens(v);
  const S = v.imageSize;
  const dh = v.hiddenSize / v.numHeads;
  let x = embed(c, cfg, g.input('pixel_values', ElemType.FLOAT, ['batch', 3, S, S]));
  for (let l = 0; l < k; l++) {
    const key = `v.l${l}`;
    x = mlpResidual(c, g.op('Add', [x, attention(c, layerNorm(c, x, `${key}.ln1`), key).out]), key);
  }
  const key = `v.l${k}`;
  const a = layerNorm(c, x, `${key}.ln1`);
  let clsLogits: string;
  let values: string;
  if (k + 1 < v.numLayers) {
    const att = attention(c, a, key);
    clsLogits = g.op('Slice', [att.logits, g.constInt64([0]), g.constInt64([1]), g.constInt64([2])]); // [B,H,1,T]
    values = att.values;
    g.output('hidden_out', mlpResidual(c, g.op('Add', [x, att.out]), key), ElemType.FLOAT, ['batch', T, v.hiddenSize]);
  } else {
    ({ clsLogits, values } = clsQueryLogits(c, a, key));
  }
  g.output('cls_in', clsOf(g, x), ElemType.FLOAT, ['batch', v.hiddenSize]);
  g.output('cls_logits', g.op('Reshape', [clsLogits, g.constInt64([0, v.numHeads, T])]), ElemType.FLOAT, [
    'batch',
    v.numHeads,
    T,
  ]);
  g.output('cls_values', values, ElemType.FLOAT, ['batch', v.numHeads, T, dh]);
}

/** The per-box half of the CLS-row split at layer k (ClsRowSplit 'per-box'). */
function clsRowPerBox(c: TowerContext, cfg: ClipConfig, k: number): void {
  const { g } = c;
  const v = cfg.vision;
  const L = v.numLayers;
  const H = v.numHeads;
  const T = visionTokens(v);
  const D = v.hiddenSize;
  const hidden = k + 1 < L ? g.input('hidden_in', ElemType.FLOAT, ['batch', T, D]) : undefined;
  const clsIn = g.op('Unsqueeze', [g.input('cls_in', ElemType.FLOAT, ['batch', D]), g.constInt64([1])]); // [B,1,D]
  const clsLogits = g.op('Unsqueeze', [g.input('cls_logits', ElemType.FLOAT, ['batch', H, T]), g.constInt64([2])]); // [B,H,1,T]
  const values = g.input('cls_values', ElemType.FLOAT, ['batch', H, T, D / H]);
  const bias = g.input('attn_bias', ElemType.FLOAT, ['batch', 'bias_heads', T, T]);
  const gate = g.input('bias_gate', ElemType.FLOAT, [L, H]);
  const layerBias = (l: number) => g.op('Mul', [bias, gateRow(g, gate, l, H)]);
  // Row 0 of the gated bias, for a CLS query alone: in layer k (by the contract the only non-zero row) and in
  // the last layer (whose other rows nothing reads).
  const clsBias = (l: number) =>
    g.op('Mul', [
      g.op('Slice', [bias, g.constInt64([0]), g.constInt64([1]), g.constInt64([2])]),
      gateRow(g, gate, l, H),
    ]);

  /** A block's CLS output row from its input CLS row and its CLS query's logits and values. */
  const clsBlock = (l: number, cls: string, logits: string, vals: string) =>
    mlpResidual(c, g.op('Add', [cls, clsRowAttention(c, logits, vals, `v.l${l}`, clsBias(l))]), `v.l${l}`);

  let cls = clsBlock(k, clsIn, clsLogits, values); // [B,1,D]
  if (hidden) {
    let x = g.op('Concat', [cls, g.op('Slice', [hidden, g.constInt64([1]), g.constInt64([T]), g.constInt64([1])])], {
      axis: int(1),
    });
    for (let l = k + 1; l < L - 1; l++) {
      const key = `v.l${l}`;
      x = mlpResidual(
        c,
        g.op('Add', [x, attention(c, layerNorm(c, x, `${key}.ln1`), key, { bias: layerBias(l) }).out]),
        key,
      );
    }
    const last = clsQueryLogits(c, layerNorm(c, x, `v.l${L - 1}.ln1`), `v.l${L - 1}`);
    cls = clsBlock(L - 1, clsRow(g, x), last.clsLogits, last.values);
  }
  g.output(
    'image_embeds',
    g.op('Reshape', [projectCls(c, cls), g.constInt64([-1, cfg.projectionDim])]),
    ElemType.FLOAT,
    ['batch', cfg.projectionDim],
  );
}

/**
 * The q/k/v-replacement ablation (Table 5): two streams with shared weights. The "probs" stream runs
 * normally on `pixel_values_probs` (with gate·bias on its logits); in layers where `swap_gate` is 1 the
 * "out" stream (`pixel_values`) multiplies its own V by the probs stream's attention probabilities.
 * Output: the out stream's `image_embeds`.
 */
export function buildTwoStreamGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  precision: Precision = 'fp32',
): Uint8Array {
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
    const p = attention(c, layerNorm(c, probsStream, `${key}.ln1`), key, {
      bias: g.op('Mul', [bias, gateRow(g, gate, l, v.numHeads)]),
    });
    probsStream = mlpResidual(c, g.op('Add', [probsStream, p.out]), key);
    const s = g.op('Gather', [swap, g.constInt64([l], [])], { axis: int(0) });
    // P = s·P_probs + (1 − s)·P_out: exact for s ∈ {0, 1}.
    const mix = (own: string) => g.op('Add', [g.op('Mul', [p.probs, s]), g.op('Mul', [own, g.op('Sub', [one, s])])]);
    const o = attention(c, layerNorm(c, out, `${key}.ln1`), key, { mixProbs: mix });
    out = mlpResidual(c, g.op('Add', [out, o.out]), key);
  }
  g.output('image_embeds', project(c, out), ElemType.FLOAT, ['batch', cfg.projectionDim]);
  return g.toBytes('vision-two-stream');
}

/** ln_post + projection of CLS residual vectors [B,D] → [B,P], for the post-hoc unleash recomposition. */
export function buildClsProjectionGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  precision: Precision = 'fp32',
): Uint8Array {
  const g = new GraphBuilder(weightsFile, precision);
  const c = context(cfg, g, index);
  const cls = g.input('cls_residual', ElemType.FLOAT, ['batch', cfg.vision.hiddenSize]);
  g.output('image_embeds', projectCls(c, cls), ElemType.FLOAT, ['batch', cfg.projectionDim]);
  return g.toBytes('vision-cls-projection');
}
