import type { ClipEncoder } from '../../encoder/clip-encoder.js';
import type { FeatureCache } from '../../encoder/feature-cache.js';
import type { BoxXYWH } from '../../image/box.js';
import { preprocess } from '../../image/preprocess.js';
import type { RgbImage } from '../../image/rgb-image.js';
import { applyEdit } from '../../prompts/apply-edit.js';
import { falipAttention } from '../../prompts/falip.js';
import { methodKey, type Method } from '../../prompts/method.js';
import { normalized } from '../../util/vector.js';

/**
 * Normalized image features of one decoded image under any method and box. Features are per
 * (image, method, box), not per sentence: RefCOCO has several refs and sentences per image, and each
 * (method, box) is encoded once for all of them. The unedited image is preprocessed once.
 */
export class ImageBoxFeatures {
  private plainPixels?: Promise<Float32Array>;
  private readonly features = new Map<string, Promise<Float32Array>>();

  constructor(
    private readonly encoder: ClipEncoder,
    /** Identifies the image (its path): boxes of one image share the encoder's prefix layers. */
    private readonly imageKey: string,
    private readonly image: RgbImage,
    /** The on-disk cache and the image file's sha256, when `--cache` is on. */
    private readonly disk?: { cache: FeatureCache; imageSha256: string },
  ) {}

  get(method: Method, box: BoxXYWH): Promise<Float32Array> {
    const key = `${methodKey(method)}|${box.join(',')}`;
    let f = this.features.get(key);
    if (!f) {
      f = this.encode(method, box);
      this.features.set(key, f);
    }
    return f;
  }

  private pixelsOfPlain(): Promise<Float32Array> {
    this.plainPixels ??= preprocess(this.image, this.encoder.config.vision.imageSize);
    return this.plainPixels;
  }

  private async encode(method: Method, box: BoxXYWH): Promise<Float32Array> {
    if (!this.disk) return this.compute(method, box);
    const key = this.disk.cache.key([this.disk.imageSha256, methodKey(method), box.join(',')]);
    const cached = await this.disk.cache.get(key);
    if (cached) return cached;
    const feature = await this.compute(method, box);
    await this.disk.cache.put(key, feature);
    return feature;
  }

  private async compute(method: Method, box: BoxXYWH): Promise<Float32Array> {
    const v = this.encoder.config.vision;
    const unedited = method.edit.kind === 'none';
    const pixels = unedited ? await this.pixelsOfPlain() : await preprocess(await applyEdit(this.image, box, method.edit), v.imageSize);
    const attention = method.falip ? falipAttention(box, this.image.width, this.image.height, v, method.falip) : undefined;
    const embeds = await this.encoder.image({ pixels, attention, ...(unedited && { pixelsKey: this.imageKey }) });
    return normalized(embeds);
  }
}
