import type { RgbImage } from '../image/rgb-image.js';
import type { ClipConfig } from '../model/clip-config.js';
import type { ScoreDecomposition } from '../model/graphs/decomposition-graph.js';
import type { AttentionProbs, ClsCapture } from '../model/graphs/vision-graph.js';
import type { Device } from './execution-provider.js';
import type { EncodeRequest, PromptedTextRequest } from './requests.js';

/** The outputs of the analysis graphs, as the encoder hands them out (their graph modules define them). */
export type { AttentionProbs, ClsCapture, ScoreDecomposition };

/**
 * An image as the encoder takes it: the decoded pixels (which prompts may edit) or a ready CLIP input
 * (a depth map), identified by `key` so that work on the unedited image is shared across requests.
 */
export interface ImageInput {
  /** Identifies the image's content: requests with the same key share its preprocessing and prefix layers. */
  readonly key: string;
  /** The size the request's boxes are given in. */
  readonly width: number;
  readonly height: number;
  /** The unedited image preprocessed to CLIP's input [3,S,S]. */
  pixels(size: number): Promise<Float32Array>;
  /** The decoded image an edit applies to; undefined for inputs that are tensors already. */
  readonly rgb?: RgbImage;
}

/** Where and how an encoder runs. */
export interface EncoderOptions {
  device: Device;
  /** Which GPU (ORT's CUDA device id), when there are several. */
  deviceId?: number;
  threads?: number;
  /** Requests per `session.run`. */
  batchSize: number;
  /** Share the unbiased prefix layers across the boxes of an image (exact; off only to measure it). */
  prefixSharing?: boolean;
}

export interface EncoderStats {
  /** Time inside model calls, ms. */
  busyMs: number;
  /** Model calls. */
  batches: number;
  /** Prefix forwards: with sharing, one per image and first biased layer, whatever the boxes. */
  prefixRuns: number;
}

/**
 * The shared CLIP encoder: one per model and device, used by every task and method at once. Requests
 * from many producers are micro-batched per graph variant; outputs are not normalized.
 */
export interface Encoder {
  readonly config: ClipConfig;
  readonly options: Readonly<EncoderOptions>;
  /** The image embedding [P] of `input` under `request`. */
  image(input: ImageInput, request: EncodeRequest): Promise<Float32Array>;
  /**
   * The analysis outputs of `input` under `request` (its edit and attention; ablations do not apply;
   * learned prompts are refused).
   */
  capture(input: ImageInput, request: EncodeRequest): Promise<ClsCapture>;
  /**
   * Every layer's attention probabilities of `input` under `request` (its edit and attention, and a
   * prompt-tuned CLIP's vision prompts, whose tokens follow the image's; ablations do not apply).
   */
  attentionProbs(input: ImageInput, request: EncodeRequest): Promise<AttentionProbs>;
  /**
   * The score 100·cos(image, text) of `input` under `request` (its edit and attention; ablations do not
   * apply) against a text embedding [P] (any norm), split into additive per-layer, head and token terms.
   * Float precisions only: int8 refuses with a UserError.
   */
  decompose(input: ImageInput, request: EncodeRequest, textEmbeds: Float32Array): Promise<ScoreDecomposition>;
  /**
   * The text embedding [P] of one tokenized text (SOT … EOT ids); with `prompted`, of a prompt-tuned
   * CLIP whose context replaces positions 1..n_ctx of the ids.
   */
  text(ids: readonly number[], prompted?: PromptedTextRequest): Promise<Float32Array>;
  stats(): EncoderStats;
}
