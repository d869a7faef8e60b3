import { MASK_FORMS } from './falip-mask.js';
import { autoIntegerParam, enumParam, headsParam, layersParam, numberParam } from './params.js';

/**
 * Parameters several prompts read. One object per parameter, so that a name means the same thing in
 * every method that reads it, and a composed method (`redcircle+falip`) has one value for it.
 */

/** FALIP's mask peak α (the released code's `v`, 0.2, and Table 10's best). */
export const ALPHA = numberParam({
  label: 'α',
  help: 'foveal mask peak: the largest value added to the attention logits',
  default: 0.2,
});

/** FALIP's Gaussian σ in tokens (100, Table 11's best: with σ ≫ the region the shape is a paraboloid). */
export const SIGMA = numberParam({ label: 'σ', help: 'foveal mask Gaussian width, in tokens', default: 100, above: 0 });

/** Where the foveal values go in the T×T bias: a = the CLS query row (the released code), b = every row, c = the diagonal. */
export const FORM = enumParam({
  label: 'form',
  help: 'mask form: a = CLS query row, b = every query row, c = diagonal',
  values: MASK_FORMS,
  default: 'a',
});

/**
 * The layers a prompt acts in. FALIP's are 9-12 of ViT-B/16's 12, written "last 4" so that deeper
 * models get their last 4; the paper gives no layers for its ablations or PASTA, and this is our choice there.
 */
export const LAYERS = layersParam({ help: 'layers the prompt acts in', default: 'last 4' });

export const HEADS = headsParam({ help: 'heads the attention bias is added to' });

/** The released code's red outline width int(max(W, H)/200), 3 px at 640 px, but at least 1 px. */
export const CIRCLE_THICKNESS = autoIntegerParam({
  label: 'ellipse width',
  help: 'red ellipse outline width in pixels',
  autoMeans: 'max(1, ⌊max(W,H)/200⌋) px',
});

/** ReCLIP's `blur_std_dev` 100 (Pillow's GaussianBlur radius, which is σ). */
export const BLUR_SIGMA = numberParam({
  label: 'blur σ',
  help: 'Gaussian σ of the blur outside the marked region, in pixels',
  default: 100,
  above: 0,
});

/** Table 14: the ellipse's box grows by this many pixels on each side, then is clamped to the image. */
export const ENLARGE = numberParam({
  label: 'enlarge',
  help: 'pixels the red ellipse grows by on each side (clamped to the image)',
  default: 0,
  atLeast: 0,
});

/** Which tokens of the region get the foveal values: the box's rectangle, or only tokens with foreground (depth maps). */
export const TOKENS = enumParam({
  label: 'tokens',
  help: "region tokens that get the mask: the box's rectangle, or only its foreground tokens (depth maps)",
  values: ['box', 'foreground'],
  default: 'box',
});
