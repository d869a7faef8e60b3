import type { ClipConfig, TextConfig } from '../clip-config.js';
import type { LearnedPrompts } from '../learned-prompts/learned-prompts.js';
import { ElemType, GraphBuilder, int } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { towerContext } from '../onnx/transformer-ops.js';
import type { WeightsIndex } from '../onnx/weights-file.js';
import type { GraphFamily } from './graph-family.js';
import { causalMask, outputTextEmbeds, sequenceOf, textBlock } from './text-graph.js';

const INPUT_IDS = 'input_ids';
const TEXT_CTX = 'text_ctx';
const TEXT_DEEP_PROMPTS = 'text_deep_prompts';
const TEXT_DEEP_GATE = 'text_deep_gate';
const TEXT_EMBEDS = 'text_embeds';

const NAME = 'text-prompted';

/** Past any sequence length: a Slice end that keeps every row after the start. */
const TO_END = 2 ** 53 - 1;

/**
 * The text tower of a prompt-tuned CLIP (CoOp, KgCoOp, IVLP, PromptSRC, MaPLe), one graph for every
 * checkpoint: the prompts are inputs.
 * - `input_ids` [B,S]: "SOT X … X <class name>. EOT" (n X's), zero-padded as the plain text graph's;
 * - `text_ctx` [B,n,D]: replaces the token embeddings of positions 1..n (the X's) before the positional
 *   embedding is added (the class's own context for a class-specific CoOp);
 * - `text_deep_prompts` [L,n,D] and `text_deep_gate` [L] (one prompt set per batch): before block l ≥ 1
 *   positions 1..n become gate·deep_l + (1 − gate)·x, exactly deep_l where the gate is 1 and exactly x
 *   where it is 0;
 * - `text_embeds` [B,P]: pooled at EOT (the argmax id), as CLIP and every trainer pool.
 */
function buildPromptedTextGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  _spec: undefined,
  precision: Precision,
): Uint8Array {
  const t = cfg.text;
  const g = new GraphBuilder(weightsFile, precision);
  const c = towerContext(g, index, 'text', t, cfg.hiddenAct);
  const ids = g.input(INPUT_IDS, ElemType.INT64, ['batch', 'sequence']);
  const ctx = g.input(TEXT_CTX, ElemType.FLOAT, ['batch', 'ctx_tokens', t.hiddenSize]);
  const deep = g.input(TEXT_DEEP_PROMPTS, ElemType.FLOAT, [t.numLayers, 'ctx_tokens', t.hiddenSize]);
  const gate = g.input(TEXT_DEEP_GATE, ElemType.FLOAT, [t.numLayers]);
  const { seq, zero } = sequenceOf(g, ids);
  const one = g.constInt64([1]);
  const afterCtx = g.op('Add', [one, g.op('Slice', [g.op('Shape', [ctx]), one, g.constInt64([2])])]); // [1]: 1 + n
  const rows = (x: string, from: string, to: string) => g.op('Slice', [x, from, to, one]);
  const end = g.constInt64([TO_END]);

  const tokens = g.op('Gather', [c.weight('t.tok'), ids], { axis: int(0) });
  const spliced = g.op('Concat', [rows(tokens, zero, one), ctx, rows(tokens, afterCtx, end)], { axis: int(1) });
  let x = g.op('Add', [spliced, g.op('Slice', [c.weight('t.pos'), zero, seq, zero])]);
  const causal = causalMask(g, t.contextLength, seq);
  for (let l = 0; l < t.numLayers; l++) {
    if (l > 0) {
      const on = g.op('Gather', [gate, g.constInt64([l], [])], { axis: int(0) }); // scalar
      const off = g.op('Sub', [g.constFloat([1], []), on]);
      const deepL = g.op('Gather', [deep, g.constInt64([l], [])], { axis: int(0) }); // [n,D]
      const prompts = g.op('Add', [g.op('Mul', [on, deepL]), g.op('Mul', [off, rows(x, one, afterCtx)])]);
      x = g.op('Concat', [rows(x, zero, one), prompts, rows(x, afterCtx, end)], { axis: int(1) });
    }
    x = textBlock(c, x, l, causal);
  }
  outputTextEmbeds(c, cfg, x, ids, zero, TEXT_EMBEDS);
  return g.toBytes(NAME);
}

export const promptedTextGraph: GraphFamily<undefined> = {
  tower: 'text',
  key: () => NAME,
  build: buildPromptedTextGraph,
};

/** A prompt set's text prompts as the encoder feeds them. */
export interface TextPromptInputs {
  /** Identifies the prompt set: texts of one set share batches (their deep prompts are per batch). */
  key: string;
  /** n_ctx. */
  tokens: number;
  /** [n_ctx, D] shared by every class, or one per class ([n_cls·n_ctx·D]) for a class-specific context. */
  ctx: Float32Array;
  /** Classes of a class-specific context; null when it is shared. */
  classes: number | null;
  /** [L, n_ctx, D]: layer l's deep prompt (zeros where the gate is 0). */
  deep: Float32Array;
  /** [L]: 1 where a deep prompt replaces positions 1..n_ctx before block l. */
  deepGate: Float32Array;
}

/** One prompted text: its token ids (SOT X … X name. EOT) and the context that replaces the X's, [n_ctx·D]. */
export interface PromptedText {
  ids: readonly number[];
  ctx: Float32Array;
}

/** A prompt set's text prompts in the form the graph takes them. */
export function textPromptInputs(t: TextConfig, prompts: LearnedPrompts, key: string): TextPromptInputs {
  const n = prompts.nCtx;
  const D = t.hiddenSize;
  const L = t.numLayers;
  const shape = prompts.ctx.shape;
  const classes = shape.length === 3 ? shape[0]! : null;
  if (shape[shape.length - 2] !== n || shape[shape.length - 1] !== D)
    throw new Error(`text prompts ${key}: ctx has shape [${shape.join(', ')}], expected [${n}, ${D}]`);
  const deep = new Float32Array(L * n * D);
  const deepGate = new Float32Array(L);
  for (const [layer, p] of prompts.deepText) {
    if (!(layer >= 1 && layer < L) || p.shape[0] !== n || p.shape[1] !== D)
      throw new Error(`text prompts ${key}: deep prompt of layer ${layer} has shape [${p.shape.join(', ')}]`);
    deep.set(p.data, layer * n * D);
    deepGate[layer] = 1;
  }
  return { key, tokens: n, ctx: prompts.ctx.data, classes, deep, deepGate };
}

/** The context of class `index` (the shared one unless the context is class-specific). */
export function classContext(p: TextPromptInputs, index: number, D: number): Float32Array {
  if (p.classes === null) return p.ctx;
  if (!(index >= 0 && index < p.classes)) throw new RangeError(`class ${index} of a ${p.classes}-class context`);
  const size = p.tokens * D;
  return p.ctx.subarray(index * size, (index + 1) * size);
}

/** A typed feed of the prompted text graph, ready for an ORT tensor. */
export type TextFeed =
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'float32'; data: Float32Array; dims: number[] };

/**
 * The feeds of one batch of texts of one prompt set: ids zero-padded to the longest (inert after EOT, as
 * in the plain text graph), each text's context stacked.
 */
export function promptedTextFeeds(
  t: TextConfig,
  texts: readonly PromptedText[],
  prompts: TextPromptInputs,
): Record<string, TextFeed> {
  const len = Math.max(...texts.map((x) => x.ids.length));
  if (len > t.contextLength) throw new Error(`token sequence of ${len} exceeds the context of ${t.contextLength}`);
  const n = prompts.tokens;
  const D = t.hiddenSize;
  const ids = new BigInt64Array(texts.length * len);
  const ctx = new Float32Array(texts.length * n * D);
  texts.forEach((x, b) => {
    if (x.ids.length < n + 2) throw new Error(`prompted text of ${x.ids.length} tokens holds no ${n} context tokens`);
    if (x.ctx.length !== n * D) throw new Error(`context of ${x.ctx.length} values, expected ${n}·${D}`);
    x.ids.forEach((id, i) => {
      ids[b * len + i] = BigInt(id);
    });
    ctx.set(x.ctx, b * n * D);
  });
  return {
    [INPUT_IDS]: { type: 'int64', data: ids, dims: [texts.length, len] },
    [TEXT_CTX]: { type: 'float32', data: ctx, dims: [texts.length, n, D] },
    [TEXT_DEEP_PROMPTS]: { type: 'float32', data: prompts.deep, dims: [t.numLayers, n, D] },
    [TEXT_DEEP_GATE]: { type: 'float32', data: prompts.deepGate, dims: [t.numLayers] },
  };
}

/** `text_embeds` [B,P] of a run, by output name. */
export function readPromptedTextEmbeds(out: Record<string, { data: unknown }>): Float32Array {
  const embeds = out[TEXT_EMBEDS];
  if (!embeds) throw new Error(`prompted text graph: no ${TEXT_EMBEDS} output`);
  return embeds.data as Float32Array;
}
