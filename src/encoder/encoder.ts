import type { RgbImage } from '../image/rgb-image.js';
import type { ClipConfig } from '../model/clip-config.js';
import type { EncodeRequest } from './requests.js';

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

/** The analysis outputs of one forward pass (attention maps, head sensitivity, unleash). */
export interface ClsCapture {
  /** [P], not normalized. */
  imageEmbeds: Float32Array;
  /** [D] the CLS residual after the last layer, before ln_post. */
  clsResidual: Float32Array;
  /** [L·H·D] each head's CLS contribution after its slice of the out-projection (out-proj bias excluded). */
  clsHeadOut: Float32Array;
  /** [L·H·T] the CLS query's attention probabilities. */
  clsAttn: Float32Array;
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
  /** image_embeds [P] of `input` under `request`. */
  image(input: ImageInput, request: EncodeRequest): Promise<Float32Array>;
  /** The analysis outputs of `input` under `request` (its edit and attention; ablations do not apply). */
  capture(input: ImageInput, request: EncodeRequest): Promise<ClsCapture>;
  /** text_embeds [P] of one tokenized text (SOT … EOT ids). */
  text(ids: readonly number[]): Promise<Float32Array>;
  stats(): EncoderStats;
}
