import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { blurOutside } from './blur.js';
import { cropBox } from './crop.js';
import { grayscaleOutside } from './grayscale.js';
import type { ImageEdit } from './method.js';
import { redCircle, redCircleBlur } from './redcircle.js';
import { shadeBox } from './shade.js';

/** The edited image a method shows CLIP for one box. */
export function applyEdit(img: RgbImage, box: BoxXYWH, edit: ImageEdit): Promise<RgbImage> | RgbImage {
  switch (edit.kind) {
    case 'none':
      return img;
    case 'redcircle':
      return redCircle(img, box, { thickness: edit.thickness });
    case 'redcircle-blur':
      return redCircleBlur(img, box, { thickness: edit.thickness, blurSigma: edit.blurSigma });
    case 'blur':
      return blurOutside(img, box, { sigma: edit.sigma });
    case 'crop':
      return cropBox(img, box);
    case 'shade':
      return shadeBox(img, box);
    case 'grayscale':
      return grayscaleOutside(img, box);
  }
}
