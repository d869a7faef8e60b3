import { visionTokens, type ClipConfig, type VisionConfig } from '../clip-config.js';
import { type Dim, ElemType, type GraphBuilder } from '../onnx/graph-builder.js';
import type { Feed, Feeds } from './graph-family.js';

/**
 * The inputs and outputs that several vision graph families share, each declared (builder side) and fed
 * (request side) in one place, so the two agree on name and shape. A request's tensors leave out the
 * batch axis; the graphs declare it as 'batch'.
 *
 * `tokens` is the sequence length: T = grid² + 1 by default; a prompted member's is T + n_v, declared as
 * the symbolic PROMPTED_TOKENS so one graph serves prompt sets of any size (its feeds give the number).
 */

export const PIXEL_VALUES = 'pixel_values';
export const HIDDEN_IN = 'hidden_in';
export const HIDDEN_OUT = 'hidden_out';
export const ATTN_BIAS = 'attn_bias';
export const BIAS_GATE = 'bias_gate';
export const IMAGE_EMBEDS = 'image_embeds';

/**
 * A bias added to the attention logits before softmax, as the graphs take it: `bias` [T,T] or [H,T,T],
 * `gate` [L,H] multiplying it per layer and head (the encoder's AttentionBias has this shape).
 */
export interface GatedBias {
  bias: Float32Array;
  gate: Float32Array;
}

/** `pixel_values` [B,3,S,S] (or another pixel input of that shape), CLIP-normalized. */
export function declarePixels(g: GraphBuilder, v: VisionConfig, name = PIXEL_VALUES): string {
  return g.input(name, ElemType.FLOAT, ['batch', 3, v.imageSize, v.imageSize]);
}

export function pixelFeed(v: VisionConfig, pixels: Float32Array): Feed {
  return { data: pixels, dims: [3, v.imageSize, v.imageSize] };
}

/** The symbolic sequence length of prompted members: T + n_v. */
export const PROMPTED_TOKENS = 'tokens';

/** `hidden_in` [B,T,D]: the residual stream between two graphs of a split forward. */
export function declareHidden(g: GraphBuilder, v: VisionConfig, tokens: Dim = visionTokens(v)): string {
  return g.input(HIDDEN_IN, ElemType.FLOAT, ['batch', tokens, v.hiddenSize]);
}

export function hiddenFeed(v: VisionConfig, hidden: Float32Array, tokens = visionTokens(v)): Feed {
  return { data: hidden, dims: [tokens, v.hiddenSize] };
}

export function outputHidden(g: GraphBuilder, v: VisionConfig, x: string, tokens: Dim = visionTokens(v)): void {
  g.output(HIDDEN_OUT, x, ElemType.FLOAT, ['batch', tokens, v.hiddenSize]);
}

/** `attn_bias` [B,1|H,T,T] (per request) and `bias_gate` [L,H] (per batch), in that order. */
export function declareBias(
  g: GraphBuilder,
  v: VisionConfig,
  T: Dim = visionTokens(v),
): { bias: string; gate: string } {
  const bias = g.input(ATTN_BIAS, ElemType.FLOAT, ['batch', 'bias_heads', T, T]);
  const gate = g.input(BIAS_GATE, ElemType.FLOAT, [v.numLayers, v.numHeads]);
  return { bias, gate };
}

/**
 * Adds a request's bias feeds to `feeds`; the head count is part of the batch key through the bias's
 * dims. (Feeds are filled in place: spreading objects with computed keys costs microseconds a request.)
 */
export function addBiasFeeds(feeds: Feeds, v: VisionConfig, a: GatedBias, T = visionTokens(v)): Feeds {
  feeds.items[ATTN_BIAS] = { data: a.bias, dims: [a.bias.length / (T * T), T, T] };
  feeds.shared[BIAS_GATE] = { data: a.gate, dims: [v.numLayers, v.numHeads] };
  return feeds;
}

/** A zero gate: graphs with bias inputs then run unbiased, so one graph serves both cases. */
export function noBias(v: VisionConfig): GatedBias {
  const T = visionTokens(v);
  return { bias: new Float32Array(T * T), gate: new Float32Array(v.numLayers * v.numHeads) };
}

/** `image_embeds` [B,P], not normalized. */
export function outputEmbeds(g: GraphBuilder, cfg: ClipConfig, embeds: string): void {
  g.output(IMAGE_EMBEDS, embeds, ElemType.FLOAT, ['batch', cfg.projectionDim]);
}

/** The graphs whose only output is the embedding read it with these. */
export const EMBEDS_OUTPUTS = [IMAGE_EMBEDS] as const;

export function readEmbeds(out: Record<typeof IMAGE_EMBEDS, Float32Array>): Float32Array {
  return out[IMAGE_EMBEDS];
}
