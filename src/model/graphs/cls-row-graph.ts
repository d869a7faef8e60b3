import { visionTokens, type ClipConfig, type VisionConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { attention, clsQueryLogits, clsRowAttention, layerNorm, type TowerContext } from '../onnx/transformer-ops.js';
import { clsOf, clsRow, embed, gateRow, mlpResidual, projectCls, visionContext } from '../onnx/vision-ops.js';
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
  rowsToEnd,
  tokensDim,
  type VisionPromptInputs,
} from './vision-prompts.js';

const CLS_IN = 'cls_in';
const CLS_LOGITS = 'cls_logits';
const CLS_VALUES = 'cls_values';

/**
 * The CLS-row split of the first biased layer k, for REC with many boxes per image. When only the CLS
 * query row of the bias is non-zero (FALIP form a), layer k's patch outputs are the same for every box:
 * patch queries see no bias, and keys and values come from the unbiased layer input. So the 'prefix'
 * member computes layers [0, k] unbiased once per image and the 'per-box' member redoes only layer k's
 * CLS row with the bias, then layers k+1..L−1. Together they equal the biased forward exactly.
 *
 * - 'prefix': input `pixel_values`. Outputs `hidden_out` [B,T,D], the state after layer k (its CLS row
 *   is replaced per box; absent when k is the last layer, whose patch rows nothing reads), and of layer
 *   k: `cls_in` [B,D], its input CLS row (the residual); `cls_logits` [B,H,T], its CLS query's scaled
 *   logits before the bias; `cls_values` [B,H,T,dh], its value heads.
 * - 'per-box': inputs `hidden_in` (the prefix's `hidden_out`; absent when k = L − 1), `cls_in`,
 *   `cls_logits`, `cls_values` (batched per box), `attn_bias`, `bias_gate`. Computes layer k's CLS row
 *   with row 0 of the gated bias (softmax, ·V, out-projection, residual, LN2 + MLP on that row), writes
 *   it into the hidden state, runs layers k+1..L−1 with the gated bias, and of the last layer only the
 *   CLS row (the only row `image_embeds` reads). Output `image_embeds`.
 *
 * Contract: use the pair only when rows 1..T−1 of every bias are zero (isClsRowOnlyBias). Otherwise
 * the result is not the biased forward: the prefix ran layer k's patch rows without their bias.
 */
export interface ClsRowSpec {
  half: 'prefix' | 'per-box';
  /** k, the first biased layer, 0-based. */
  layer: number;
  /**
   * Learned vision prompts (vision-prompts.ts): T + n_v tokens, the shallow prompts in the prefix and
   * the deep ones before every later block of either half (the per-box half takes them with `hidden_in`).
   * Exact for the same reason: prompts enter at layer 0, so the prefix is per image and prompt set.
   */
  prompted?: boolean;
}

/** What the prefix hands the per-box member, per image (see ClsRowSpec). */
export interface ClsRowState {
  /** [T,D], absent when k is the last layer. */
  hidden?: Float32Array;
  /** [D]. */
  clsIn: Float32Array;
  /** [H,T]. */
  clsLogits: Float32Array;
  /** [H,T,dh]. */
  clsValues: Float32Array;
}

/**
 * Whether an attention bias meets the split's contract: in each head's T×T plane of `bias` ([T,T] or
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

/** The names the vision family's prefix and suffix would have, marked as the split's (caches keep them). */
function specName(s: ClsRowSpec, cfg: ClipConfig): string {
  const name =
    s.half === 'prefix'
      ? `vision-0-${s.layer + 1}-clsrow-prefix`
      : `vision-${s.layer}-${cfg.vision.numLayers}-bias-clsrow-per-box`;
  return s.prompted ? `${name}-prompted` : name;
}

function buildClsRowGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  spec: ClsRowSpec,
  precision: Precision,
): Uint8Array {
  const L = cfg.vision.numLayers;
  if (!(Number.isInteger(spec.layer) && spec.layer >= 0 && spec.layer < L))
    throw new Error(`CLS-row split: layer ${spec.layer} outside [0, ${L})`);
  const g = new GraphBuilder(weightsFile, precision);
  const c = visionContext(cfg, g, index);
  if (spec.half === 'prefix') prefix(c, cfg, spec.layer, spec.prompted);
  else perBox(c, cfg, spec.layer, spec.prompted);
  return g.toBytes(specName(spec, cfg));
}

export const clsRowGraph: GraphFamily<ClsRowSpec> = {
  tower: 'vision',
  key: specName,
  build: buildClsRowGraph,
};

/** The per-image half at layer k. */
function prefix(c: TowerContext, cfg: ClipConfig, k: number, prompted = false): void {
  const { g } = c;
  const v = cfg.vision;
  const T = visionTokens(v);
  const tokens = tokensDim(v, prompted);
  const dh = v.hiddenSize / v.numHeads;
  const pixels = declarePixels(g, v);
  const prompts = prompted ? declareVisionPrompts(g, v) : undefined;
  let x = embed(c, cfg, pixels, prompts?.shallow);
  for (let l = 0; l < k; l++) {
    const key = `v.l${l}`;
    if (prompts && l > 0) x = replaceDeepPrompts(g, x, prompts, l, T);
    x = mlpResidual(c, g.op('Add', [x, attention(c, layerNorm(c, x, `${key}.ln1`), key).out]), key);
  }
  if (prompts && k > 0) x = replaceDeepPrompts(g, x, prompts, k, T);
  const key = `v.l${k}`;
  const a = layerNorm(c, x, `${key}.ln1`);
  let clsLogits: string;
  let values: string;
  if (k + 1 < v.numLayers) {
    const att = attention(c, a, key);
    clsLogits = g.op('Slice', [att.logits, g.constInt64([0]), g.constInt64([1]), g.constInt64([2])]); // [B,H,1,T]
    values = att.values;
    outputHidden(g, v, mlpResidual(c, g.op('Add', [x, att.out]), key), tokens);
  } else {
    ({ clsLogits, values } = clsQueryLogits(c, a, key));
  }
  g.output(CLS_IN, clsOf(g, x), ElemType.FLOAT, ['batch', v.hiddenSize]);
  g.output(CLS_LOGITS, g.op('Reshape', [clsLogits, g.constInt64([0, v.numHeads, prompted ? -1 : T])]), ElemType.FLOAT, [
    'batch',
    v.numHeads,
    tokens,
  ]);
  g.output(CLS_VALUES, values, ElemType.FLOAT, ['batch', v.numHeads, tokens, dh]);
}

/** The per-box half at layer k. */
function perBox(c: TowerContext, cfg: ClipConfig, k: number, prompted = false): void {
  const { g } = c;
  const v = cfg.vision;
  const L = v.numLayers;
  const H = v.numHeads;
  const T = visionTokens(v);
  const tokens = tokensDim(v, prompted);
  const D = v.hiddenSize;
  const hidden = k + 1 < L ? declareHidden(g, v, tokens) : undefined;
  const clsIn = g.op('Unsqueeze', [g.input(CLS_IN, ElemType.FLOAT, ['batch', D]), g.constInt64([1])]); // [B,1,D]
  const clsLogits = g.op('Unsqueeze', [g.input(CLS_LOGITS, ElemType.FLOAT, ['batch', H, tokens]), g.constInt64([2])]); // [B,H,1,T]
  const values = g.input(CLS_VALUES, ElemType.FLOAT, ['batch', H, tokens, D / H]);
  const { bias, gate } = declareBias(g, v, tokens);
  // Only the layers after k take deep prompts here, and there are some only with a hidden state.
  const prompts = prompted && hidden ? declareVisionPrompts(g, v) : undefined;
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
    const rest = prompts
      ? rowsToEnd(g, hidden, 1)
      : g.op('Slice', [hidden, g.constInt64([1]), g.constInt64([T]), g.constInt64([1])]);
    let x = g.op('Concat', [cls, rest], { axis: int(1) });
    for (let l = k + 1; l < L - 1; l++) {
      const key = `v.l${l}`;
      if (prompts) x = replaceDeepPrompts(g, x, prompts, l, T);
      x = mlpResidual(
        c,
        g.op('Add', [x, attention(c, layerNorm(c, x, `${key}.ln1`), key, { bias: layerBias(l) }).out]),
        key,
      );
    }
    if (prompts) x = replaceDeepPrompts(g, x, prompts, L - 1, T);
    const last = clsQueryLogits(c, layerNorm(c, x, `v.l${L - 1}.ln1`), `v.l${L - 1}`);
    cls = clsBlock(L - 1, clsRow(g, x), last.clsLogits, last.values);
  }
  outputEmbeds(g, cfg, g.op('Reshape', [projectCls(c, cls), g.constInt64([-1, cfg.projectionDim])]));
}

/** The prefix's feeds: the unedited image, and the prompts of a prompted member. */
export function clsRowPrefixFeeds(v: VisionConfig, pixels: Float32Array, prompts?: VisionPromptInputs): Feeds {
  const items: Record<string, Feed> = { [PIXEL_VALUES]: pixelFeed(v, pixels) };
  if (prompts) addVisionPromptFeeds(items, v, prompts);
  return { items, shared: {} };
}

type PrefixOutput = typeof HIDDEN_OUT | typeof CLS_IN | typeof CLS_LOGITS | typeof CLS_VALUES;

/** The prefix's outputs at layer k (no hidden state after the last layer). */
export function clsRowPrefixOutputs(v: VisionConfig, layer: number): PrefixOutput[] {
  const cls: PrefixOutput[] = [CLS_IN, CLS_LOGITS, CLS_VALUES];
  return layer === v.numLayers - 1 ? cls : [HIDDEN_OUT, ...cls];
}

export function readClsRowPrefix(out: Partial<Record<PrefixOutput, Float32Array>>): ClsRowState {
  const { [CLS_IN]: clsIn, [CLS_LOGITS]: clsLogits, [CLS_VALUES]: clsValues } = out;
  if (!clsIn || !clsLogits || !clsValues) throw new Error('CLS-row prefix: an output is missing');
  return { ...(out[HIDDEN_OUT] && { hidden: out[HIDDEN_OUT] }), clsIn, clsLogits, clsValues };
}

/**
 * One box's feeds to the per-box member: the image's prefix state and the box's attention bias (of the
 * prompted sequence's length with `prompts`, whose deep prompts go with the hidden state).
 */
export function clsRowPerBoxFeeds(
  v: VisionConfig,
  state: ClsRowState,
  attention: GatedBias,
  prompts?: VisionPromptInputs,
): Feeds {
  const T = prompts ? promptedTokens(v, prompts) : visionTokens(v);
  const H = v.numHeads;
  const items: Record<string, Feed> = {};
  if (state.hidden) items[HIDDEN_IN] = hiddenFeed(v, state.hidden, T);
  items[CLS_IN] = { data: state.clsIn, dims: [v.hiddenSize] };
  items[CLS_LOGITS] = { data: state.clsLogits, dims: [H, T] };
  items[CLS_VALUES] = { data: state.clsValues, dims: [H, T, v.hiddenSize / H] };
  if (prompts && state.hidden) addVisionPromptFeeds(items, v, prompts);
  return addBiasFeeds({ items, shared: {} }, v, attention, T);
}
