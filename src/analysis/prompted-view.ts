import sharp from 'sharp';
import type { EncodeRequest } from '../encoder/requests.js';
import type { BoxXYWH } from '../image/box.js';
import { clampedCorners } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { boxToTokenRegion, regionTokens } from '../image/token-grid.js';
import { gridSize, type VisionConfig } from '../model/clip-config.js';
import type { Method } from '../prompts/method.js';
import { UserError } from '../util/errors.js';

/** One method prepared for one image and box: what it asks of the encoder, and the image the encoder sees. */
export interface PromptedView {
  method: Method;
  request: EncodeRequest;
  /** The method's edited image (RedCircle's ellipse drawn in), or the image itself. */
  image: RgbImage;
}

/**
 * The request of `method` on an image and box, for analyses that read one forward pass (its attention
 * and head outputs). Ablations change how the encoder runs across passes (two streams, recomposed
 * heads, scaled tokens), so no single forward shows them: they are refused rather than drawn wrongly.
 */
export function analysisRequest(method: Method, size: { width: number; height: number }, box: BoxXYWH): EncodeRequest {
  const request = method.prepare({ width: size.width, height: size.height, box });
  if (request.ablation) {
    throw new UserError(
      `method ${method.name}: an ablation (${request.ablation.kind}) is not one forward pass, so it has no attention of its own to analyse; use its prompt without the ablation`,
    );
  }
  return request;
}

export async function promptedView(method: Method, image: RgbImage, box: BoxXYWH): Promise<PromptedView> {
  const request = analysisRequest(method, image, box);
  return { method, request, image: request.edit ? await request.edit.apply(image) : image };
}

/** The patch tokens (1-based sequence indices) a box covers, as the foveal mask marks them. */
export function boxTokens(box: BoxXYWH, size: { width: number; height: number }, v: VisionConfig): number[] {
  return regionTokens(boxToTokenRegion(box, size.width, size.height, v.imageSize, v.patchSize), gridSize(v));
}

/** The box clamped to the image, as fractions of its width and height. */
export function boxFractions(box: BoxXYWH, size: { width: number; height: number }): [number, number, number, number] {
  const [l, t, r, b] = clampedCorners(box, size.width, size.height);
  return [l / size.width, t / size.height, (r - l) / size.width, (b - t) / size.height];
}

/**
 * A PNG data URI of an image resized to `width` px wide (aspect kept), for figures. `muted`: in light
 * gray, so that red and blue drawn over it read as the values and not as the image's own colours.
 */
export async function pngDataUri(image: RgbImage, width: number, muted = false): Promise<string> {
  const height = Math.max(1, Math.round((width * image.height) / image.width));
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(
    width,
    height,
    { fit: 'fill', kernel: 'lanczos3' },
  );
  if (muted) pipeline = pipeline.grayscale().linear(0.45, 140);
  const png = await pipeline.png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
