/**
 * What a visual prompt asks of the image encoder, as plain data. Prompts build these and import nothing
 * else from the encoder; the encoder decides how to run them (batching, prefix sharing, graph variants).
 * Types only.
 */
import type { RgbImage } from '../image/rgb-image.js';

/** A pixel edit of the decoded image (a red ellipse, a blur outside the box, a crop...). */
export interface ImageEdit {
  /** The edit with every parameter that changes its pixels, e.g. `redcircle{"thickness":3}`. */
  readonly key: string;
  apply(image: RgbImage): Promise<RgbImage>;
}

/**
 * A bias added to the attention logits QKᵀ/√d before softmax: `bias` is [T,T] (the same for every head)
 * or [H,T,T], and `gate` [L,H] multiplies it per layer and head (0 = no bias there). T = grid² + 1 tokens,
 * row = query, column = key.
 */
export interface AttentionBias {
  bias: Float32Array;
  gate: Float32Array;
}

/** Where the feature-mask ablation multiplies token features: the residual stream or the attention input. */
export type { TokenScaleSite } from '../model/graphs/vision-graph.js';
import type { TokenScaleSite } from '../model/graphs/vision-graph.js';
/** A prompt-tuned CLIP's learned prompts, as the graphs take them (model/graphs owns their layout). */
export type { PromptMask, VisionPromptInputs } from '../model/graphs/vision-prompts.js';
export type { TextPromptInputs } from '../model/graphs/prompted-text-graph.js';
import type { VisionPromptInputs } from '../model/graphs/vision-prompts.js';
import type { TextPromptInputs } from '../model/graphs/prompted-text-graph.js';

/** The paper's ablations: they change how the encoder runs rather than what it sees (Tables 4, 5). */
export type Ablation =
  /** Token features × `scale` [T] at `site` in `layers` (0-based). */
  | { kind: 'token-scale'; scale: Float32Array; site: TokenScaleSite; layers: number[] }
  /**
   * Two images, shared weights: in `layers` the attention probabilities come from one image's stream
   * (with the request's attention bias on its logits), the values from the other's; the embedding is
   * that other image's. `probabilitiesFrom` names the stream the probabilities come from.
   */
  | { kind: 'two-stream'; probabilitiesFrom: 'original' | 'edited'; layers: number[] }
  /**
   * Each head's CLS contribution G′ (edited image) becomes G + w·(G′ − G) in `layers`, G from the
   * original image, recomposed after the forward passes (the edits do not reach later layers).
   * `headWeight` is one w for every head, or one per head.
   */
  | { kind: 'unleash'; layers: number[]; headWeight: number | readonly number[] };

/** One encoding: optional pixel edit, attention bias and ablation; none of them = plain CLIP. */
export interface EncodeRequest {
  edit?: ImageEdit;
  attention?: AttentionBias;
  ablation?: Ablation;
  /**
   * A prompt-tuned CLIP's vision prompts, appended to the image's tokens. The attention bias stays T×T:
   * the encoder widens it to the prompt tokens as `prompts.mask` says. No ablation runs with prompts.
   */
  prompts?: VisionPromptInputs;
}

/** A text of a prompt-tuned CLIP: its learned context [n_ctx·D] replaces the ids' positions 1..n_ctx. */
export interface PromptedTextRequest {
  prompts: TextPromptInputs;
  ctx: Float32Array;
}
