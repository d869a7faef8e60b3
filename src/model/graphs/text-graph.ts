import type { ClipConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { attention, layerNorm, mlp, towerContext } from '../onnx/transformer-ops.js';
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
  const ctx = t.contextLength;
  const g = new GraphBuilder(weightsFile, precision);
  const c = towerContext(g, index, 'text', t, cfg.hiddenAct);
  const ids = g.input(INPUT_IDS, ElemType.INT64, ['batch', 'sequence']);
  const seq = g.op('Slice', [g.op('Shape', [ids]), g.constInt64([1]), g.constInt64([2])]);
  const zero = g.constInt64([0]);
  const positions = g.op('Slice', [c.weight('t.pos'), zero, seq, zero]);
  let x = g.op('Add', [g.op('Gather', [c.weight('t.tok'), ids], { axis: int(0) }), positions]);

  // −inf is exact in float16 as well, and every row keeps its diagonal, so Softmax stays defined.
  const full = new Array<number>(ctx * ctx);
  for (let i = 0; i < ctx; i++) for (let j = 0; j < ctx; j++) full[i * ctx + j] = j > i ? -Infinity : 0;
  const causal = g.op('Slice', [
    g.constFloat(full, [ctx, ctx]),
    g.constInt64([0, 0]),
    g.op('Concat', [seq, seq], { axis: int(0) }),
    g.constInt64([0, 1]),
  ]);

  for (let l = 0; l < t.numLayers; l++) {
    const key = `t.l${l}`;
    x = g.op('Add', [x, attention(c, layerNorm(c, x, `${key}.ln1`), key, { bias: causal }).out]);
    x = g.op('Add', [x, mlp(c, layerNorm(c, x, `${key}.ln2`), key)]);
  }

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
  g.output(TEXT_EMBEDS, embeds, ElemType.FLOAT, ['batch', cfg.projectionDim]);
  return g.toBytes(NAME);
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
