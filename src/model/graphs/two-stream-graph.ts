import type { ClipConfig, VisionConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { attention, layerNorm } from '../onnx/transformer-ops.js';
import { embed, gateRow, mlpResidual, project, visionContext } from '../onnx/vision-ops.js';
import type { WeightsIndex } from '../onnx/weights-file.js';
import type { Feeds, GraphFamily } from './graph-family.js';
import {
  addBiasFeeds,
  declareBias,
  declarePixels,
  outputEmbeds,
  PIXEL_VALUES,
  pixelFeed,
  type GatedBias,
} from './vision-io.js';

const PIXEL_VALUES_PROBS = 'pixel_values_probs';
const SWAP_GATE = 'swap_gate';

const NAME = 'vision-two-stream';

/**
 * The q/k/v-replacement ablation (Table 5): two streams with shared weights. The "probs" stream runs
 * normally on `pixel_values_probs` (with gate·bias on its logits); in layers where `swap_gate` is 1 the
 * "out" stream (`pixel_values`) multiplies its own V by the probs stream's attention probabilities.
 * Output: the out stream's `image_embeds`.
 */
function buildTwoStreamGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  _spec: undefined,
  precision: Precision,
): Uint8Array {
  const v = cfg.vision;
  const L = v.numLayers;
  const g = new GraphBuilder(weightsFile, precision);
  const c = visionContext(cfg, g, index);
  let out = embed(c, cfg, declarePixels(g, v));
  let probsStream = embed(c, cfg, declarePixels(g, v, PIXEL_VALUES_PROBS));
  const { bias, gate } = declareBias(g, v);
  const swap = g.input(SWAP_GATE, ElemType.FLOAT, [L]);
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
  outputEmbeds(g, cfg, project(c, out));
  return g.toBytes(NAME);
}

export const twoStreamGraph: GraphFamily<undefined> = {
  tower: 'vision',
  key: () => NAME,
  build: buildTwoStreamGraph,
};

/** What one request feeds the graph. */
export interface TwoStreamInputs {
  /** The stream whose values (and embedding) come out, [3,S,S]. */
  out: Float32Array;
  /** The stream whose attention probabilities are used in the swapped layers, [3,S,S]. */
  probs: Float32Array;
  /** On the probs stream's logits. */
  attention: GatedBias;
  /** [L]: 1 in the layers whose probabilities come from the probs stream. */
  swapLayers: Float32Array;
}

export function twoStreamFeeds(v: VisionConfig, x: TwoStreamInputs): Feeds {
  const feeds = addBiasFeeds(
    { items: { [PIXEL_VALUES]: pixelFeed(v, x.out), [PIXEL_VALUES_PROBS]: pixelFeed(v, x.probs) }, shared: {} },
    v,
    x.attention,
  );
  feeds.shared[SWAP_GATE] = { data: x.swapLayers, dims: [v.numLayers] };
  return feeds;
}
