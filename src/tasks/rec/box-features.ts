import type { AblationEncoder, ClsCapture } from '../../encoder/ablation-encoder.js';
import type { AttentionBias, ClipEncoder } from '../../encoder/clip-encoder.js';
import type { FeatureCache } from '../../encoder/feature-cache.js';
import type { BoxXYWH } from '../../image/box.js';
import { preprocess } from '../../image/preprocess.js';
import type { RgbImage } from '../../image/rgb-image.js';
import { applyEdit } from '../../prompts/apply-edit.js';
import { boxToTokenRegion, type TokenRegion } from '../../image/token-grid.js';
import { gridSize } from '../../model/clip-config.js';
import { falipAttention } from '../../prompts/falip.js';
import { regionTokenScale } from '../../prompts/feature-mask.js';
import { methodKey, type Ablation, type Method } from '../../prompts/method.js';
import { pastaAttention } from '../../prompts/pasta.js';
import { unleashResidual } from '../../prompts/unleash.js';
import { normalized } from '../../util/vector.js';

/**
 * Normalized image features of one decoded image under any method and box. Features are per
 * (image, method, box), not per sentence: RefCOCO has several refs and sentences per image, and each
 * (method, box) is encoded once for all of them. The unedited image is preprocessed once.
 */
export class ImageBoxFeatures {
  private plainPixels?: Promise<Float32Array>;
  private capture?: Promise<ClsCapture>;
  private readonly features = new Map<string, Promise<Float32Array>>();

  constructor(
    private readonly encoder: ClipEncoder,
    /** Identifies the image (its path): boxes of one image share the encoder's prefix layers. */
    private readonly imageKey: string,
    private readonly image: RgbImage,
    /** The on-disk cache and the image file's sha256, when `--cache` is on. */
    private readonly disk?: { cache: FeatureCache; imageSha256: string },
    /** Runs the ablation methods (Tables 4, 5); absent when no row uses one. */
    private readonly ablation?: AblationEncoder,
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
    const region = boxToTokenRegion(box, this.image.width, this.image.height, v.imageSize, v.patchSize);
    const attention = method.falip
      ? falipAttention(box, this.image.width, this.image.height, v, method.falip)
      : method.pasta && pastaAttention(region, gridSize(v), v, method.pasta);
    if (method.ablation) return normalized(await this.ablated(method.ablation, pixels, region, attention));
    const embeds = await this.encoder.image({ pixels, attention, ...(unedited && { pixelsKey: this.imageKey }) });
    return normalized(embeds);
  }

  private ablationEncoder(): AblationEncoder {
    if (!this.ablation) throw new Error('an ablation method needs the AblationEncoder');
    return this.ablation;
  }

  /** The original image's analysis outputs: unleash needs them once per image, not per box. */
  private originalCapture(): Promise<ClsCapture> {
    this.capture ??= this.pixelsOfPlain().then((p) => this.ablationEncoder().capture(p));
    return this.capture;
  }

  /** `pixels` are the method's (edited) image; the original is the unedited one. */
  private async ablated(a: Ablation, pixels: Float32Array, region: TokenRegion, attention: AttentionBias | undefined): Promise<Float32Array> {
    const enc = this.ablationEncoder();
    const v = this.encoder.config.vision;
    switch (a.kind) {
      case 'feature-mask':
        return enc.featureMasked(pixels, regionTokenScale(region, gridSize(v)), a.layers, a.site, attention);
      case 'replace-v':
        return enc.twoStream(await this.pixelsOfPlain(), pixels, a.layers);
      case 'replace-qk':
        return enc.twoStream(pixels, await this.pixelsOfPlain(), a.layers, attention);
      case 'unleash': {
        const [original, prompted] = await Promise.all([this.originalCapture(), enc.capture(pixels, attention)]);
        const dims = { L: v.numLayers, H: v.numHeads, D: v.hiddenSize };
        return enc.projectCls(unleashResidual(original, prompted, a.layers, a.headWeight, dims));
      }
    }
  }
}
