import type { ClipConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { attention, layerNorm, mlp, towerContext, type TowerContext } from '../onnx/transformer-ops.js';
import type { WeightsIndex } from '../onnx/weights-file.js';
import type { GraphFamily } from './graph-family.js';

const INPUT_IDS = 'input_ids';
const TEXT_EMBEDS = 'text_embeds';

const NAME = 'text';

/**
 * The CLIP text tower: token + position embeddings, causal blocks, EOT pooling, projection.
 * `input_ids` [B,C] may be padded to the longest text of the batch rather than to 77: with the causal
 * mask no position attends to later ones, so the EOT feature does not depend on what follows it.
 */
function buildTextGraph(
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
  const { seq, zero } = sequenceOf(g, ids);
  const positions = g.op('Slice', [c.weight('t.pos'), zero, seq, zero]);
  let x = g.op('Add', [g.op('Gather', [c.weight('t.tok'), ids], { axis: int(0) }), positions]);
  const causal = causalMask(g, t.contextLength, seq);
  for (let l = 0; l < t.numLayers; l++) x = textBlock(c, x, l, causal);
  outputTextEmbeds(c, cfg, x, ids, zero, TEXT_EMBEDS);
  return g.toBytes(NAME);
}

/** The sequence length of `ids` [B,S] as a [1] tensor, and the [0] constant the slices beside it use. */
export function sequenceOf(g: GraphBuilder, ids: string): { seq: string; zero: string } {
  const seq = g.op('Slice', [g.op('Shape', [ids]), g.constInt64([1]), g.constInt64([2])]);
  return { seq, zero: g.constInt64([0]) };
}

/** The causal mask [S,S] of a sequence of length `seq` ([1]): −inf above the diagonal. */
export function causalMask(g: GraphBuilder, contextLength: number, seq: string): string {
  // −inf is exact in float16 as well, and every row keeps its diagonal, so Softmax stays defined.
  const ctx = contextLength;
  const full = new Array<number>(ctx * ctx);
  for (let i = 0; i < ctx; i++) for (let j = 0; j < ctx; j++) full[i * ctx + j] = j > i ? -Infinity : 0;
  return g.op('Slice', [
    g.constFloat(full, [ctx, ctx]),
    g.constInt64([0, 0]),
    g.op('Concat', [seq, seq], { axis: int(0) }),
    g.constInt64([0, 1]),
  ]);
}

/** Text block l on the residual stream x [B,S,D]. */
export function textBlock(c: TowerContext, x: string, l: number, causal: string): string {
  const { g } = c;
  const key = `t.l${l}`;
  const y = g.op('Add', [x, attention(c, layerNorm(c, x, `${key}.ln1`), key, { bias: causal }).out]);
  return g.op('Add', [y, mlp(c, layerNorm(c, y, `${key}.ln2`), key)]);
}

/**
 * The output `name` [B,P]: the residual stream x [B,S,D] pooled at the EOT token of `ids`, ln_final,
 * projection (`zero` is the [0] constant of `sequenceOf`).
 */
export function outputTextEmbeds(
  c: TowerContext,
  cfg: ClipConfig,
  x: string,
  ids: string,
  zero: string,
  name: string,
): void {
  const { g } = c;
  const t = cfg.text;
  // EOT has the largest id in CLIP's vocabulary, so its position is the argmax (first on ties, as torch).
  // Float32 in both precisions: float16 holds integers exactly only up to 2048.
  const eot = g.op('ArgMax', [g.op('Cast', [ids], { to: int(ElemType.FLOAT) })], { axis: int(1), keepdims: int(1) });
  const batch = g.op('Slice', [g.op('Shape', [ids]), zero, g.constInt64([1])]);
  const index3 = g.op('Expand', [
    g.op('Unsqueeze', [eot, g.constInt64([2])]),
    g.op('Concat', [batch, g.constInt64([1, t.hiddenSize])], { axis: int(0) }),
  ]);
  const pooled = g.op('Reshape', [
    g.op('GatherElements', [x, index3], { axis: int(1) }),
    g.constInt64([-1, t.hiddenSize]),
  ]);
  const embeds = g.op('MatMul', [layerNorm(c, pooled, 't.ln_final'), c.weight('t.proj')]);
  g.output(name, embeds, ElemType.FLOAT, ['batch', cfg.projectionDim]);
}

export const textGraph: GraphFamily<undefined> = {
  tower: 'text',
  key: () => NAME,
  build: buildTextGraph,
};

/**
 * The ids of a batch of tokenized texts (SOT … EOT), padded with zeros to the longest: zero padding after
 * EOT is inert, the causal mask keeps later positions out of the EOT feature.
 */
export function textFeeds(
  texts: readonly (readonly number[])[],
  contextLength: number,
): Record<string, { data: BigInt64Array; dims: number[] }> {
  const len = Math.max(...texts.map((t) => t.length));
  if (len > contextLength) throw new Error(`token sequence of ${len} exceeds the context of ${contextLength}`);
  const ids = new BigInt64Array(texts.length * len);
  texts.forEach((t, b) => {
    t.forEach((id, i) => {
      ids[b * len + i] = BigInt(id);
    });
  });
  return { [INPUT_IDS]: { data: ids, dims: [texts.length, len] } };
}

/** `text_embeds` [B,P] of a run, by output name. */
export function readTextEmbeds(out: Record<string, { data: unknown }>): Float32Array {
  const embeds = out[TEXT_EMBEDS];
  if (!embeds) throw new Error(`text graph: no ${TEXT_EMBEDS} output`);
  return embeds.data as Float32Array;
}
