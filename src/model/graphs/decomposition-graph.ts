import { visionTokens, type ClipConfig, type VisionConfig } from '../clip-config.js';
import { ElemType, GraphBuilder, int, ints } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { attention, layerNorm, mlp } from '../onnx/transformer-ops.js';
import { clsOf, embed, gateRow, stackLayers, visionContext } from '../onnx/vision-ops.js';
import type { WeightsIndex } from '../onnx/weights-file.js';
import type { Feeds, GraphFamily, GraphOutputs } from './graph-family.js';
import {
  addBiasFeeds,
  declareBias,
  declarePixels,
  IMAGE_EMBEDS,
  noBias,
  outputEmbeds,
  PIXEL_VALUES,
  pixelFeed,
  type GatedBias,
} from './vision-io.js';

/** The cache name of the graph (one per model and precision). */
const NAME = 'vision-decomposition';

const TEXT_EMBEDS = 'text_embeds';
const SCORE = 'score';
const TOKEN_SCORES = 'token_scores';
const EMBED_SCORE = 'embed_score';
const OUT_BIAS_SCORES = 'out_bias_scores';
const MLP_SCORES = 'mlp_scores';
const LN_POST_BIAS_SCORE = 'ln_post_bias_score';

/**
 * The image–text score 100·cos(image, text) of one forward, split into additive terms: per layer, head
 * and token the contribution through that head's value path, and the terms outside the heads.
 */
export interface ScoreDecomposition {
  score: number;
  /** [L,H,T] token t's contribution through head h of layer l (CLS is token 0). */
  tokenScores: Float32Array;
  /** The embedding's CLS row (the residual stream's start). */
  embedScore: number;
  /** [L] the out-projection bias of each layer. */
  outBiasScores: Float32Array;
  /** [L] each layer's MLP on the CLS row. */
  mlpScores: Float32Array;
  /** post_layernorm's bias. */
  lnPostBiasScore: number;
}

/** Σ over the last axis of a·b (broadcasting), without that axis. */
function dot(g: GraphBuilder, a: string, b: string): string {
  return g.op('ReduceSum', [g.op('Mul', [a, b]), g.constInt64([-1])], { keepdims: int(0) });
}

/**
 * The vision forward with the image–text score split into additive terms (Gandelsman et al.'s
 * decomposition, the one FALIP's attention maps use). The final CLS residual r is the embedding's CLS row
 * plus, per layer, the attention CLS output (Σ over heads h and tokens i of p_{h,i}·v_{h,i}·W_O^h, plus
 * the out-projection bias) and the MLP's CLS output. post_layernorm is taken as linear with r's own
 * statistics: a term t becomes γ⊙(t − mean t)/σ(r), and its bias β is a term of its own; the projection
 * and the dot with 100·t̂/‖image_embeds‖ are linear. So every term is a dot with one direction q in
 * residual space and the terms sum to the score 100·cos(image, text) exactly (in exact arithmetic).
 *
 * The same blocks as the vision graphs (transformer-ops), with the same gated `attn_bias` in every layer,
 * so a FALIP forward is decomposed as it runs. Inputs: `pixel_values` [B,3,S,S], `attn_bias`
 * [B,1|H,T,T], `bias_gate` [L,H], `text_embeds` [B,P] (any norm). Outputs: `image_embeds` [B,P],
 * `score` [B], `token_scores` [B,L,H,T], `embed_score` [B], `out_bias_scores` [B,L], `mlp_scores` [B,L],
 * `ln_post_bias_score` [B].
 *
 * Float weights only: int8 graphs quantize the activations inside the out-projection, which per-token
 * terms cannot follow, so the terms would not sum to the score.
 */
function buildDecompositionGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  _spec: undefined,
  precision: Precision,
): Uint8Array {
  if (precision === 'int8') throw new Error('the decomposition graph needs float weights, not int8');
  const v = cfg.vision;
  const L = v.numLayers;
  const H = v.numHeads;
  const D = v.hiddenSize;
  const T = visionTokens(v);
  const P = cfg.projectionDim;
  const g = new GraphBuilder(weightsFile, precision);
  const c = visionContext(cfg, g, index);

  // The embedding exactly as the vision graphs compute it.
  let x = embed(c, cfg, declarePixels(g, v));
  const embedCls = clsOf(g, x);

  const { bias, gate } = declareBias(g, v);
  const clsProbs: string[] = []; // [B,H,T] per layer
  const values: string[] = []; // [B,H,T,dh] per layer
  const mlpCls: string[] = []; // [B,D] per layer
  for (let l = 0; l < L; l++) {
    const key = `v.l${l}`;
    const layerGate = gateRow(g, gate, l, H);
    const att = attention(c, layerNorm(c, x, `${key}.ln1`), key, { bias: g.op('Mul', [bias, layerGate]) });
    clsProbs.push(
      g.op('Reshape', [
        g.op('Slice', [att.probs, g.constInt64([0]), g.constInt64([1]), g.constInt64([2])]),
        g.constInt64([0, H, T]),
      ]),
    );
    values.push(att.values);
    const afterAttention = g.op('Add', [x, att.out]);
    const m = mlp(c, layerNorm(c, afterAttention, `${key}.ln2`), key);
    mlpCls.push(clsOf(g, m));
    x = g.op('Add', [afterAttention, m]);
  }

  const r = clsOf(g, x); // [B,D]
  const pooled = layerNorm(c, r, 'v.ln_post');
  const image = g.op('MatMul', [pooled, c.weight('v.proj')]); // [B,P]
  const norm = (t: string) => g.op('Sqrt', [g.op('ReduceSumSquare', [t], { axes: ints([-1]), keepdims: int(1) })]);
  const text = g.input(TEXT_EMBEDS, ElemType.FLOAT, ['batch', P]);
  // dir = 100·Wprojᵀ·t̂/‖image‖ [B,D]: the score is pooled·dir.
  const textUnit = g.op('Div', [text, norm(text)]);
  const dir = g.op('Mul', [
    g.op('MatMul', [textUnit, g.op('Transpose', [c.weight('v.proj')], { perm: ints([1, 0]) })]),
    g.op('Div', [g.constFloat([100], []), norm(image)]),
  ]);
  // q = (γ⊙dir − mean(γ⊙dir))/σ(r): a term t scores t·q, which is γ⊙(t − mean t)/σ(r)·dir.
  const mean = (t: string) => g.op('ReduceMean', [t], { axes: ints([-1]), keepdims: int(1) });
  const centred = g.op('Sub', [r, mean(r)]);
  const sigma = g.op('Sqrt', [
    g.op('Add', [mean(g.op('Mul', [centred, centred])), g.constFloat([v.layerNormEps], [])]),
  ]);
  const gammaDir = g.op('Mul', [c.weight('v.ln_post.w'), dir]);
  const q = g.op('Div', [g.op('Sub', [gammaDir, mean(gammaDir)]), sigma]); // [B,D]

  const tokenScores = clsProbs.map((probs, l) => {
    // Head h's out-projection slice [dh,D] times q: what one unit of its value vector adds to the score.
    const perHead = g.op('Reshape', [c.weight(`v.l${l}.out.w`), g.constInt64([H, D / H, D])]);
    const headDir = g.op('MatMul', [perHead, g.op('Unsqueeze', [q, g.constInt64([1, 3])])]); // [B,H,dh,1]
    const valueScores = g.op('Reshape', [g.op('MatMul', [values[l]!, headDir]), g.constInt64([0, H, T])]);
    return g.op('Mul', [probs, valueScores]); // [B,H,T]
  });
  const q3 = g.op('Unsqueeze', [q, g.constInt64([1])]); // [B,1,D]
  const outBiases = g.op(
    'Concat',
    Array.from({ length: L }, (_, l) => g.op('Unsqueeze', [c.weight(`v.l${l}.out.b`), g.constInt64([0])])),
    { axis: int(0) },
  ); // [L,D]

  outputEmbeds(g, cfg, image);
  g.output(SCORE, dot(g, pooled, dir), ElemType.FLOAT, ['batch']);
  g.output(TOKEN_SCORES, stackLayers(g, tokenScores), ElemType.FLOAT, ['batch', L, H, T]);
  g.output(EMBED_SCORE, dot(g, embedCls, q), ElemType.FLOAT, ['batch']);
  g.output(OUT_BIAS_SCORES, dot(g, outBiases, q3), ElemType.FLOAT, ['batch', L]);
  g.output(MLP_SCORES, dot(g, stackLayers(g, mlpCls), q3), ElemType.FLOAT, ['batch', L]);
  g.output(LN_POST_BIAS_SCORE, dot(g, c.weight('v.ln_post.b'), dir), ElemType.FLOAT, ['batch']);
  return g.toBytes(NAME);
}

export const decompositionGraph: GraphFamily<undefined> = {
  tower: 'vision',
  key: () => NAME,
  build: buildDecompositionGraph,
  unsupported: (precision) =>
    precision === 'int8' ? 'the score decomposition needs float weights: use --precision fp32 (or fp16)' : undefined,
};

/** One request: preprocessed pixels [3,S,S], its attention (none: plain CLIP) and a text embedding [P] (any norm). */
export function decompositionFeeds(
  v: VisionConfig,
  pixels: Float32Array,
  attention: GatedBias | undefined,
  textEmbeds: Float32Array,
): Feeds {
  const feeds = addBiasFeeds(
    { items: { [PIXEL_VALUES]: pixelFeed(v, pixels) }, shared: {} },
    v,
    attention ?? noBias(v),
  );
  feeds.items[TEXT_EMBEDS] = { data: textEmbeds, dims: [textEmbeds.length] };
  return feeds;
}

/** Every output; `token_scores` [B,L,H,T] is the map, the others are the remaining terms. */
export const DECOMPOSITION_OUTPUTS = [
  IMAGE_EMBEDS,
  SCORE,
  TOKEN_SCORES,
  EMBED_SCORE,
  OUT_BIAS_SCORES,
  MLP_SCORES,
  LN_POST_BIAS_SCORE,
] as const;

export function readDecomposition(out: GraphOutputs<(typeof DECOMPOSITION_OUTPUTS)[number]>): ScoreDecomposition {
  return {
    score: out[SCORE][0]!,
    tokenScores: out[TOKEN_SCORES],
    embedScore: out[EMBED_SCORE][0]!,
    outBiasScores: out[OUT_BIAS_SCORES],
    mlpScores: out[MLP_SCORES],
    lnPostBiasScore: out[LN_POST_BIAS_SCORE][0]!,
  };
}
