import { visionTokens, type VisionConfig } from '../clip-config.js';
import type { VisionPrompts } from '../learned-prompts/learned-prompts.js';
import { type Dim, ElemType, type GraphBuilder, int } from '../onnx/graph-builder.js';
import type { Feed } from './graph-family.js';
import { PROMPTED_TOKENS, type GatedBias } from './vision-io.js';

/**
 * Learned vision prompts (IVLP, PromptSRC, MaPLe) in the vision families' prompted members: what they
 * declare, how a request feeds them, and how FALIP's bias reaches the prompt tokens. The prompts are
 * inputs, not weights, so one graph serves every checkpoint, whatever its n_v and depth:
 *
 * - `vision_prompts` [B,n,D]: appended after the positional embedding and before ln_pre (rows T..T+n−1);
 * - `vision_deep_prompts` [B,L,n,D] and `vision_deep_gate` [B,L]: before block l ≥ 1 the prompt rows
 *   become gate·deep_l + (1 − gate)·rows, which is exactly deep_l where the gate is 1 and exactly the
 *   rows where it is 0 (the checkpoint's depth decides which; layer 0's gate is unused).
 *
 * Fed per request (stacked like the pixels): a batch may mix prompt sets, and the encoder's batching
 * needs no per-set key.
 */

const VISION_PROMPTS = 'vision_prompts';
const VISION_DEEP_PROMPTS = 'vision_deep_prompts';
const VISION_DEEP_GATE = 'vision_deep_gate';

/** How FALIP's bias treats the prompt tokens: see `promptedAttention`. */
export const PROMPT_MASKS = ['zero', 'cls'] as const;
export type PromptMask = (typeof PROMPT_MASKS)[number];

/** A prompt set's vision prompts as the encoder feeds them. */
export interface VisionPromptInputs {
  /** Identifies the prompts and the mask choice: memo entries and feature keys hold it. */
  key: string;
  /** n_v. */
  tokens: number;
  /** [n_v, D]. */
  shallow: Float32Array;
  /** [L, n_v, D]: layer l's deep prompt (zeros where the gate is 0). */
  deep: Float32Array;
  /** [L]: 1 where a deep prompt replaces the prompt tokens before block l. */
  deepGate: Float32Array;
  mask: PromptMask;
}

/** A prompt set's vision prompts in the form the graphs take them. */
export function visionPromptInputs(
  v: VisionConfig,
  prompts: VisionPrompts,
  key: string,
  mask: PromptMask,
): VisionPromptInputs {
  const n = prompts.nCtx;
  const D = v.hiddenSize;
  const L = v.numLayers;
  const check = (what: string, shape: readonly number[]) => {
    if (shape.length !== 2 || shape[0] !== n || shape[1] !== D)
      throw new Error(`vision prompts ${key}: ${what} has shape [${shape.join(', ')}], expected [${n}, ${D}]`);
  };
  check('the shallow prompt', prompts.shallow.shape);
  const deep = new Float32Array(L * n * D);
  const deepGate = new Float32Array(L);
  for (const [layer, t] of prompts.deep) {
    if (!(layer >= 1 && layer < L)) throw new Error(`vision prompts ${key}: deep prompt of layer ${layer}`);
    check(`the deep prompt of layer ${layer}`, t.shape);
    deep.set(t.data, layer * n * D);
    deepGate[layer] = 1;
  }
  return { key, tokens: n, shallow: prompts.shallow.data, deep, deepGate, mask };
}

/** The prompt inputs of a prompted member, declared in the graph's compute type. */
export interface DeclaredVisionPrompts {
  shallow: string;
  deep: string;
  gate: string;
}

export function declareVisionPrompts(g: GraphBuilder, v: VisionConfig): DeclaredVisionPrompts {
  const D = v.hiddenSize;
  return {
    shallow: g.input(VISION_PROMPTS, ElemType.FLOAT, ['batch', 'prompt_tokens', D]),
    deep: g.input(VISION_DEEP_PROMPTS, ElemType.FLOAT, ['batch', v.numLayers, 'prompt_tokens', D]),
    gate: g.input(VISION_DEEP_GATE, ElemType.FLOAT, ['batch', v.numLayers]),
  };
}

/** Past any sequence length: a Slice end that keeps every row after the start. */
const TO_END = 2 ** 53 - 1;

/** x [B,T+n,D] with its last n rows (the prompt tokens) replaced by layer `l`'s deep prompt where gated. */
export function replaceDeepPrompts(
  g: GraphBuilder,
  x: string,
  p: DeclaredVisionPrompts,
  layer: number,
  T: number,
): string {
  const deep = g.op('Gather', [p.deep, g.constInt64([layer], [])], { axis: int(1) }); // [B,n,D]
  const gate = g.op('Reshape', [
    g.op('Gather', [p.gate, g.constInt64([layer], [])], { axis: int(1) }),
    g.constInt64([-1, 1, 1]),
  ]); // [B,1,1]
  const keep = g.op('Sub', [g.constFloat([1], []), gate]);
  const prompts = g.op('Add', [g.op('Mul', [gate, deep]), g.op('Mul', [keep, rowsToEnd(g, x, T)])]);
  const tokens = g.op('Slice', [x, g.constInt64([0]), g.constInt64([T]), g.constInt64([1])]);
  return g.op('Concat', [tokens, prompts], { axis: int(1) });
}

/** Rows [from, end) of a [B,tokens,…] tensor along axis 1, to the end of a prompted sequence. */
export function rowsToEnd(g: GraphBuilder, x: string, from: number): string {
  return g.op('Slice', [x, g.constInt64([from]), g.constInt64([TO_END]), g.constInt64([1])]);
}

/** Adds a request's prompt feeds to `items`. */
export function addVisionPromptFeeds(items: Record<string, Feed>, v: VisionConfig, p: VisionPromptInputs): void {
  const D = v.hiddenSize;
  items[VISION_PROMPTS] = { data: p.shallow, dims: [p.tokens, D] };
  items[VISION_DEEP_PROMPTS] = { data: p.deep, dims: [v.numLayers, p.tokens, D] };
  items[VISION_DEEP_GATE] = { data: p.deepGate, dims: [v.numLayers] };
}

/** The sequence length of a prompted request: T + n_v. */
export function promptedTokens(v: VisionConfig, p: Pick<VisionPromptInputs, 'tokens'>): number {
  return visionTokens(v) + p.tokens;
}

/** The declared sequence length of a member: T, or symbolic for a prompted one. */
export function tokensDim(v: VisionConfig, prompted: boolean | undefined): Dim {
  return prompted ? PROMPTED_TOKENS : visionTokens(v);
}

/**
 * A T×T attention bias ([T,T] or [H,T,T] planes) widened to the prompted sequence, (T+n)×(T+n). The
 * prompt tokens' rows and columns are zero ('zero': the mask neither lets them look nor be looked at,
 * seed 003's "W/O prompt" reading), except with 'cls', where the CLS query's row also gives every prompt
 * column the plane's largest value, the mask's peak (α for FALIP): CLS attends to the prompts as to the
 * middle of the box. The gate is unchanged.
 */
export function promptedAttention(a: GatedBias, T: number, p: Pick<VisionPromptInputs, 'tokens' | 'mask'>): GatedBias {
  const plane = T * T;
  if (a.bias.length % plane !== 0)
    throw new Error(`attention bias of ${a.bias.length} values is not a stack of ${T}×${T} planes`);
  const Tp = T + p.tokens;
  const planes = a.bias.length / plane;
  const bias = new Float32Array(planes * Tp * Tp);
  for (let k = 0; k < planes; k++) {
    const from = k * plane;
    const to = k * Tp * Tp;
    for (let i = 0; i < T; i++) bias.set(a.bias.subarray(from + i * T, from + (i + 1) * T), to + i * Tp);
    if (p.mask === 'cls') {
      let peak = 0;
      for (let j = from; j < from + plane; j++) peak = Math.max(peak, a.bias[j]!);
      bias.fill(peak, to + T, to + Tp);
    }
  }
  return { bias, gate: a.gate };
}
