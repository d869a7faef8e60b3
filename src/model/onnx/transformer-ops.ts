import type { TowerConfig } from '../clip-config.js';
import { ElemType, float, int, ints, MS_DOMAIN, type GraphBuilder } from './graph-builder.js';
import { scaleKey } from './int8-weights.js';
import type { WeightsIndex } from './weights-file.js';

/** What a tower's graph code needs: the builder, its weights by key, and the tower's dimensions. */
export interface TowerContext {
  g: GraphBuilder;
  weight: (key: string) => string;
  /** The int8 codes and per-column scales of a weight the weights file holds quantized, else undefined. */
  int8Weight: (key: string) => { codes: string; scales: string } | undefined;
  tower: TowerConfig;
  act: 'quick_gelu' | 'gelu';
}

/** A tower's context over its weights index; `name` says which tower in the error for a missing weight. */
export function towerContext(
  g: GraphBuilder,
  index: WeightsIndex,
  name: string,
  tower: TowerConfig,
  act: TowerContext['act'],
): TowerContext {
  const weight = (key: string) => {
    const t = index[key];
    if (!t) throw new Error(`${name} weights index has no ${key}`);
    return g.external(key, t);
  };
  return {
    g,
    tower,
    act,
    weight,
    int8Weight: (key) =>
      index[key]?.elemType === ElemType.INT8 ? { codes: weight(key), scales: weight(scaleKey(key)) } : undefined,
  };
}

/** A weight as a float tensor: int8 codes are dequantized (code · scale of their column). */
function floatWeight(c: TowerContext, key: string): string {
  const q = c.int8Weight(key);
  return q ? c.g.op('DequantizeLinear', [q.codes, q.scales], { axis: int(1) }) : c.weight(key);
}

/** In fp16 too: LayerNormalization's stash_type (default float32) makes it reduce in float32. */
export function layerNorm(c: TowerContext, x: string, key: string): string {
  return c.g.op('LayerNormalization', [x, c.weight(`${key}.w`), c.weight(`${key}.b`)], {
    axis: int(-1),
    epsilon: float(c.tower.layerNormEps),
  });
}

/**
 * x · W + b against the pre-transposed [in, out] weight. Float weights: MatMul then Add, the pair ORT fuses
 * into one Gemm-like kernel. int8 weights: ORT's DynamicQuantizeMatMul, which quantizes x to uint8 per
 * tensor at run time, multiplies on the u8×s8 integer kernel (VNNI where the CPU has it), and applies the
 * per-column scales and the bias on the way out.
 */
export function linear(c: TowerContext, x: string, key: string): string {
  const q = c.int8Weight(`${key}.w`);
  if (q) return c.g.opIn(MS_DOMAIN, 'DynamicQuantizeMatMul', [x, q.codes, q.scales, '', c.weight(`${key}.b`)]);
  return c.g.op('Add', [c.g.op('MatMul', [x, c.weight(`${key}.w`)]), c.weight(`${key}.b`)]);
}

function activation(c: TowerContext, x: string): string {
  const g = c.g;
  if (c.act === 'quick_gelu') return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.constFloat([1.702], [])])])]);
  const erf = g.op('Erf', [g.op('Mul', [x, g.constFloat([Math.SQRT1_2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.constFloat([0.5], [])]), g.op('Add', [erf, g.constFloat([1], [])])]);
}

export function mlp(c: TowerContext, x: string, layerKey: string): string {
  return linear(c, activation(c, linear(c, x, `${layerKey}.fc1`)), `${layerKey}.fc2`);
}

/** The q, k, v heads [B,H,T,dh] of the LayerNorm-ed block input `a`; q is already scaled by 1/√dh (tower-weights.ts). */
function qkvHeads(c: TowerContext, a: string, layerKey: string): { q: string; k: string; v: string } {
  const { g, tower } = c;
  const h = tower.numHeads;
  const qkv = linear(c, a, `${layerKey}.qkv`); // [B,T,3D]
  const split = g.op('Transpose', [g.op('Reshape', [qkv, g.constInt64([0, 0, 3, h, tower.hiddenSize / h])])], {
    perm: ints([2, 0, 3, 1, 4]),
  });
  const [q, k, v] = [0, 1, 2].map((i) => g.op('Gather', [split, g.constInt64([i], [])], { axis: int(0) })) as [
    string,
    string,
    string,
  ];
  return { q, k, v };
}

/**
 * Softmax over the keys, in float32 in every precision: ONNX leaves its reduction type to the kernel, and
 * a float16 running sum over up to 577 keys keeps barely three significant digits.
 */
function softmax(g: GraphBuilder, logits: string): string {
  return g.fromFloat32(g.op('Softmax', [g.toFloat32(logits)], { axis: int(-1) }));
}

/** Per-head outputs [B,H,R,dh] → [B,R,D] → the out-projection. */
function mergeHeads(c: TowerContext, heads: string, layerKey: string): string {
  const merged = c.g.op('Reshape', [
    c.g.op('Transpose', [heads], { perm: ints([0, 2, 1, 3]) }),
    c.g.constInt64([0, 0, c.tower.hiddenSize]),
  ]);
  return linear(c, merged, `${layerKey}.out`);
}

export interface AttentionOptions {
  /** Added to the scaled logits QKᵀ/√d before softmax; broadcastable to [B,H,T,T]. */
  bias?: string;
  /** Replaces the probabilities that multiply V (the two-stream q/k/v ablation). */
  mixProbs?: (probs: string) => string;
  /** Also return the CLS row of the used probabilities and each head's CLS contribution. */
  captureCls?: boolean;
}

export interface AttentionResult {
  out: string;
  /** This stream's own softmax probabilities [B,H,T,T] (before any mixProbs). */
  probs: string;
  /** The scaled logits QKᵀ/√d [B,H,T,T] before the bias. */
  logits: string;
  /** The value heads [B,H,T,dh]. */
  values: string;
  clsAttn?: string; // [B,H,T]
  clsHeadOut?: string; // [B,H,D]
}

/** Multi-head self-attention of one block, on the LayerNorm-ed input `a`. */
export function attention(c: TowerContext, a: string, layerKey: string, opts: AttentionOptions = {}): AttentionResult {
  const { g, tower } = c;
  const d = tower.hiddenSize;
  const h = tower.numHeads;
  const dh = d / h;
  const { q, k, v } = qkvHeads(c, a, layerKey);
  const logits = g.op('MatMul', [q, g.op('Transpose', [k], { perm: ints([0, 1, 3, 2]) })]);
  const probs = softmax(g, opts.bias ? g.op('Add', [logits, opts.bias]) : logits);
  const used = opts.mixProbs ? opts.mixProbs(probs) : probs;
  const heads = g.op('MatMul', [used, v]); // [B,H,T,dh]
  const result: AttentionResult = { out: mergeHeads(c, heads, layerKey), probs, logits, values: v };
  if (opts.captureCls) {
    const clsProbs = g.op('Slice', [used, g.constInt64([0]), g.constInt64([1]), g.constInt64([2])]); // [B,H,1,T]
    result.clsAttn = g.op('Reshape', [clsProbs, g.constInt64([0, 0, -1])]);
    // The out-projection [D_in, D_out] viewed as [H, dh, D]: head h's slice of the input features.
    const perHeadOut = g.op('Reshape', [floatWeight(c, `${layerKey}.out.w`), g.constInt64([h, dh, d])]);
    const clsHeads = g.op('MatMul', [g.op('MatMul', [clsProbs, v]), perHeadOut]); // [B,H,1,D]
    result.clsHeadOut = g.op('Reshape', [clsHeads, g.constInt64([0, 0, d])]);
  }
  return result;
}

/**
 * The attention output of the CLS query alone, [B,1,D] after the out-projection, from its scaled
 * logits [B,H,1,T] (before the bias), the optional bias [B,1|H,1,T] and the value heads [B,H,T,dh].
 * The same operations as the CLS row of `attention`, on one query instead of T.
 */
export function clsRowAttention(
  c: TowerContext,
  clsLogits: string,
  values: string,
  layerKey: string,
  bias?: string,
): string {
  const g = c.g;
  const probs = softmax(g, bias ? g.op('Add', [clsLogits, bias]) : clsLogits);
  return mergeHeads(c, g.op('MatMul', [probs, values]), layerKey); // [B,H,1,dh] → [B,1,D]
}

/**
 * The CLS query's scaled logits [B,H,1,T] and all value heads of one block, on the LayerNorm-ed input
 * `a` [B,T,D]: what a block whose other output rows are not needed computes of its attention.
 */
export function clsQueryLogits(c: TowerContext, a: string, layerKey: string): { clsLogits: string; values: string } {
  const g = c.g;
  const { q, k, v } = qkvHeads(c, a, layerKey);
  const q0 = g.op('Slice', [q, g.constInt64([0]), g.constInt64([1]), g.constInt64([2])]); // [B,H,1,dh]
  return { clsLogits: g.op('MatMul', [q0, g.op('Transpose', [k], { perm: ints([0, 1, 3, 2]) })]), values: v };
}
