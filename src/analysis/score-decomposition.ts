import type { ClipEncoder } from '../encoder/clip-encoder.js';
import type { Feed } from '../encoder/graph-jobs.js';
import type { AttentionBias } from '../encoder/requests.js';
import { visionTokens, type VisionConfig } from '../model/clip-config.js';
import { DECOMPOSITION_GRAPH, DECOMPOSITION_OUTPUTS } from '../model/onnx/decomposition-graph.js';

/**
 * The image–text score 100·cos(image, text) of one forward, split into additive terms (see
 * decomposition-graph.ts): per layer, head and token the contribution through that head's value path,
 * and the terms outside the heads.
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

/** The graph's bias inputs for a request's attention, or a zero gate (then the forward is plain CLIP). */
function biasFeeds(attention: AttentionBias | undefined, v: VisionConfig): { attn_bias: Feed; bias_gate: Feed } {
  const T = visionTokens(v);
  const bias = attention?.bias ?? new Float32Array(T * T);
  const gate = attention?.gate ?? new Float32Array(v.numLayers * v.numHeads);
  return {
    attn_bias: { data: bias, dims: [bias.length / (T * T), T, T] },
    bias_gate: { data: gate, dims: [v.numLayers, v.numHeads] },
  };
}

/** Decomposes the score of preprocessed `pixels` [3,S,S] under `attention` against a text embedding. */
export async function decomposeScore(
  encoder: ClipEncoder,
  pixels: Float32Array,
  attention: AttentionBias | undefined,
  textEmbeds: Float32Array,
): Promise<ScoreDecomposition> {
  const v = encoder.config.vision;
  const S = v.imageSize;
  const { attn_bias, bias_gate } = biasFeeds(attention, v);
  const out = await encoder.runGraph(
    {
      graph: DECOMPOSITION_GRAPH,
      items: {
        pixel_values: { data: pixels, dims: [3, S, S] },
        attn_bias,
        text_embeds: { data: textEmbeds, dims: [textEmbeds.length] },
      },
      shared: { bias_gate },
      outputs: DECOMPOSITION_OUTPUTS,
    },
    () => encoder.graphs.decompositionGraph(),
  );
  return {
    score: out.score![0]!,
    tokenScores: out.token_scores!,
    embedScore: out.embed_score![0]!,
    outBiasScores: out.out_bias_scores!,
    mlpScores: out.mlp_scores!,
    lnPostBiasScore: out.ln_post_bias_score![0]!,
  };
}

/** The text-directed map of chosen layers and heads (0-based): Σ over them of each token's term, [T]. */
export function headsMap(
  d: ScoreDecomposition,
  v: VisionConfig,
  layers: readonly number[],
  heads: readonly number[],
): Float64Array {
  const T = visionTokens(v);
  const map = new Float64Array(T);
  for (const l of layers) {
    for (const h of heads) {
      const off = (l * v.numHeads + h) * T;
      for (let t = 0; t < T; t++) map[t]! += d.tokenScores[off + t]!;
    }
  }
  return map;
}

/** Σ of every term outside the heads' value paths: embedding, out-projection biases, MLPs, ln_post's bias. */
export function otherTermsTotal(d: ScoreDecomposition): number {
  let s = d.embedScore + d.lnPostBiasScore;
  for (let l = 0; l < d.mlpScores.length; l++) s += d.mlpScores[l]! + d.outBiasScores[l]!;
  return s;
}
