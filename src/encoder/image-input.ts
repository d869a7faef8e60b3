import { preprocess } from '../image/preprocess.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { ImageInput } from './encoder.js';

/** A decoded image: CLIP's preprocessing of the unedited pixels runs once per input size. */
export class DecodedImage implements ImageInput {
  private readonly preprocessed = new Map<number, Promise<Float32Array>>();

  constructor(
    readonly key: string,
    readonly rgb: RgbImage,
  ) {}

  get width(): number {
    return this.rgb.width;
  }

  get height(): number {
    return this.rgb.height;
  }

  pixels(size: number): Promise<Float32Array> {
    let p = this.preprocessed.get(size);
    if (!p) {
      p = preprocess(this.rgb, size);
      this.preprocessed.set(size, p);
    }
    return p;
  }
}

/** An input that is already CLIP's [3,S,S] tensor (a depth view): no pixel edit applies to it. */
export class TensorImage implements ImageInput {
  constructor(
    readonly key: string,
    private readonly tensor: Float32Array,
    readonly width: number,
    readonly height: number,
  ) {}

  async pixels(size: number): Promise<Float32Array> {
    if (this.tensor.length !== 3 * size * size)
      throw new RangeError(`${this.key}: a tensor of ${this.tensor.length} values is not [3,${size},${size}]`);
    return this.tensor;
  }
}
