import type { TowerConfig } from '../clip-config.js';
import { float, int, ints, type GraphBuilder } from './graph-builder.js';

/** What a tower's graph code needs: the builder, its weights by key, and the tower's dimensions. */
export interface TowerContext {
  g: GraphBuilder;
  weight: (key: string) => string;
  tower: TowerConfig;
  act: 'quick_gelu' | 'gelu';
}

/** In fp16 too: LayerNormalization's stash_type (default float32) makes it reduce in float32. */
export function layerNorm(c: TowerContext, x: string, key: string): string {
  return c.g.op('LayerNormalization', [x, c.weight(`${key}.w`), c.weight(`${key}.b`)], {
    axis: int(-1),
    epsilon: float(c.tower.layerNormEps),
  });
}

/** MatMul against the pre-transposed [in, out] weight, then Add: the pair ORT fuses into one Gemm-like kernel. */
export function linear(c: TowerContext, x: string, key: string): string {
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
  clsAttn?: string; // [B,H,T]
  clsHeadOut?: string; // [B,H,D]
}

/** Multi-head self-attention of one block, on the LayerNorm-ed input `a`. */
export function attention(c: TowerContext, a: string, layerKey: string, opts: AttentionOptions = {}): AttentionResult {
  const { g, tower } = c;
  const d = tower.hiddenSize;
  const h = tower.numHeads;
  const dh = d / h;
  const qkv = linear(c, a, `${layerKey}.qkv`); // [B,T,3D], q already scaled by 1/√dh
  const split = g.op('Transpose', [g.op('Reshape', [qkv, g.constInt64([0, 0, 3, h, dh])])], { perm: ints([2, 0, 3, 1, 4]) });
  const [q, k, v] = [0, 1, 2].map((i) => g.op('Gather', [split, g.constInt64([i], [])], { axis: int(0) })) as [string, string, string];
  let logits = g.op('MatMul', [q, g.op('Transpose', [k], { perm: ints([0, 1, 3, 2]) })]);
  if (opts.bias) logits = g.op('Add', [logits, opts.bias]);
  // Softmax runs in float32 in both precisions: ONNX leaves its reduction type to the kernel, and a
  // float16 running sum over up to 577 keys keeps barely three significant digits.
  const probs = g.fromFloat32(g.op('Softmax', [g.toFloat32(logits)], { axis: int(-1) }));
  const used = opts.mixProbs ? opts.mixProbs(probs) : probs;
  const heads = g.op('MatMul', [used, v]); // [B,H,T,dh]
  const merged = g.op('Reshape', [g.op('Transpose', [heads], { perm: ints([0, 2, 1, 3]) }), g.constInt64([0, 0, d])]);
  const result: AttentionResult = { out: linear(c, merged, `${layerKey}.out`), probs };
  if (opts.captureCls) {
    const clsProbs = g.op('Slice', [used, g.constInt64([0]), g.constInt64([1]), g.constInt64([2])]); // [B,H,1,T]
    result.clsAttn = g.op('Reshape', [clsProbs, g.constInt64([0, 0, -1])]);
    // The out-projection [D_in, D_out] viewed as [H, dh, D]: head h's slice of the input features.
    const perHeadOut = g.op('Reshape', [c.weight(`${layerKey}.out.w`), g.constInt64([h, dh, d])]);
    const clsHeads = g.op('MatMul', [g.op('MatMul', [clsProbs, v]), perHeadOut]); // [B,H,1,D]
    result.clsHeadOut = g.op('Reshape', [clsHeads, g.constInt64([0, 0, d])]);
  }
  return result;
}
