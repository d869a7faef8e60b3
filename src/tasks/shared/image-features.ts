import { readFile } from 'node:fs/promises';
import type { Encoder, ImageInput } from '../../encoder/encoder.js';
import type { VisionPromptInputs } from '../../encoder/requests.js';
import type { FeatureCache } from '../../encoder/feature-cache.js';
import { DecodedImage } from '../../encoder/image-input.js';
import type { BoxXYWH } from '../../image/box.js';
import { centerCropImage, type Preprocessing } from '../../image/input-view.js';
import { loadImage } from '../../image/load-image.js';
import type { Method } from '../../prompts/method.js';
import { UserError } from '../../util/errors.js';
import { sha256Hex } from '../../util/sha256.js';
import { normalized } from '../../util/vector.js';

/** What else decides a feature besides its method and box. */
export interface RegionExtras {
  /** A depth view's foreground tokens. */
  foregroundTokens?: Uint8Array;
  /** A prompt-tuned CLIP's vision prompts (its key identifies them and their mask). */
  prompts?: VisionPromptInputs;
}

/**
 * Normalized image features of one image under any method and region. Features are per (image,
 * method, region), not per sentence or row: a RefCOCO image has several refs and sentences, a table
 * several rows, and each (method, region) is encoded once for all of them.
 */
export class ImageFeatures {
  private readonly features = new Map<string, Promise<Float32Array>>();

  constructor(
    private readonly encoder: Encoder,
    readonly input: ImageInput,
    /** The on-disk cache and the image content's sha256, when `--cache` is on. */
    private readonly disk?: { cache: FeatureCache; contentSha256: string },
  ) {}

  /**
   * The features of an image file, decoded once; with `--cache`, keyed on disk by the file's sha256.
   * `recorded` is the size its manifest line (`where`) gives, which its boxes are in: an image replaced
   * since the import by one of another size is refused, not scored with boxes that no longer fit it.
   * Under `center-crop` the image the methods see (and their boxes are in) is the decoded image's
   * centre crop at the model's input size (image/input-view.ts).
   */
  static async forFile(
    encoder: Encoder,
    file: string,
    cache?: FeatureCache,
    recorded?: { width: number; height: number; where: string },
    preprocess: Preprocessing = 'squash',
  ): Promise<ImageFeatures> {
    const decoded = await loadImage(file);
    if (recorded && (recorded.width !== decoded.width || recorded.height !== decoded.height)) {
      throw new UserError(
        `${recorded.where}: width/height: recorded ${recorded.width}×${recorded.height}, ${file} is ${decoded.width}×${decoded.height} (replaced since the import? import the dataset again)`,
      );
    }
    const size = encoder.config.vision.imageSize;
    // The view is part of what the image is: the encoder's per-image memos and the disk cache keep them apart.
    const view = preprocess === 'squash' ? '' : `|${preprocess}@${size}`;
    const contentSha256 = cache && `${sha256Hex(await readFile(file))}${view}`;
    const input =
      preprocess === 'squash'
        ? new DecodedImage(file, decoded)
        : new DecodedImage(`${file}${view}`, centerCropImage(decoded, size));
    return new ImageFeatures(encoder, input, cache && { cache, contentSha256: contentSha256! });
  }

  get(method: Method, box: BoxXYWH, extras: RegionExtras = {}): Promise<Float32Array> {
    // The foreground tokens follow from the image itself, so they need no place in the key.
    const key = `${method.key}|${box.join(',')}${extras.prompts ? `|${extras.prompts.key}` : ''}`;
    let f = this.features.get(key);
    if (!f) {
      f = this.fromDiskOrEncoder(key, method, box, extras);
      this.features.set(key, f);
    }
    return f;
  }

  private async fromDiskOrEncoder(
    key: string,
    method: Method,
    box: BoxXYWH,
    extras: RegionExtras,
  ): Promise<Float32Array> {
    if (!this.disk) return this.encode(method, box, extras);
    const diskKey = this.disk.cache.key([this.disk.contentSha256, key]);
    const cached = await this.disk.cache.get(diskKey, this.encoder.config.projectionDim);
    if (cached) return cached;
    const feature = await this.encode(method, box, extras);
    await this.disk.cache.put(diskKey, feature);
    return feature;
  }

  private async encode(method: Method, box: BoxXYWH, extras: RegionExtras): Promise<Float32Array> {
    const { prompts, foregroundTokens } = extras;
    const request = method.prepare({
      width: this.input.width,
      height: this.input.height,
      box,
      ...(foregroundTokens && { foregroundTokens }),
    });
    return normalized(await this.encoder.image(this.input, prompts ? { ...request, prompts } : request));
  }
}
