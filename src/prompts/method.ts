import type { VisionConfig } from '../model/clip-config.js';
import { UserError } from '../util/errors.js';
import { BLUR_DEFAULTS } from './blur.js';
import { defaultFalipParams, describeFalip, type FalipParams } from './falip.js';
import { REDCIRCLE_BLUR_DEFAULTS } from './redcircle.js';
import { SHADE_TEXT_TEMPLATE } from './shade.js';

/** How the pixels are edited for one box before CLIP sees them (none for FALIP). */
export type ImageEdit =
  | { kind: 'none' }
  | { kind: 'redcircle'; thickness?: number }
  | { kind: 'redcircle-blur'; thickness?: number; blurSigma: number }
  | { kind: 'blur'; sigma: number }
  | { kind: 'crop' }
  | { kind: 'shade' }
  | { kind: 'grayscale' };

/**
 * One visual prompt ("representation" in ReCLIP's terms): an image edit, optionally FALIP's
 * attention mask, and the text template its captions use. Pure description; the task encodes it.
 */
export interface Method {
  name: string;
  edit: ImageEdit;
  falip?: FalipParams;
  /** `{}` is replaced by the lowercased expression. */
  textTemplate: string;
}

export const PHOTO_TEMPLATE = 'a photo of {}';

/** Options the method names read; each defaults to the reference's value. */
export interface MethodOptions {
  falip?: Partial<FalipParams>;
  /** Red ellipse width in pixels; default max(1, ⌊max(W,H)/200⌋) as the reference. */
  circleThickness?: number;
  blurSigma?: number;
}

export const METHOD_NAMES = ['plain', 'falip', 'redcircle', 'redcircle+blur', 'redcircle+falip', 'blur', 'blur+falip', 'crop', 'shade', 'grayscale'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** Builds a method from its name (`--method`), e.g. `redcircle+falip` = the RedCircle image with the foveal mask. */
export function makeMethod(name: string, v: VisionConfig, o: MethodOptions = {}): Method {
  const falip = (): FalipParams => ({ ...defaultFalipParams(v), ...o.falip });
  const circle = o.circleThickness === undefined ? {} : { thickness: o.circleThickness };
  const photo = (edit: ImageEdit, withFalip = false): Method => ({ name, edit, textTemplate: PHOTO_TEMPLATE, ...(withFalip && { falip: falip() }) });
  switch (name as MethodName) {
    case 'plain':
      return photo({ kind: 'none' });
    case 'falip':
      return photo({ kind: 'none' }, true);
    case 'redcircle':
      return photo({ kind: 'redcircle', ...circle });
    case 'redcircle+blur':
      return photo({ kind: 'redcircle-blur', ...circle, blurSigma: o.blurSigma ?? REDCIRCLE_BLUR_DEFAULTS.blurSigma });
    case 'redcircle+falip':
      return photo({ kind: 'redcircle', ...circle }, true);
    case 'blur':
      return photo({ kind: 'blur', sigma: o.blurSigma ?? BLUR_DEFAULTS.sigma });
    case 'blur+falip':
      return photo({ kind: 'blur', sigma: o.blurSigma ?? BLUR_DEFAULTS.sigma }, true);
    case 'crop':
      return photo({ kind: 'crop' });
    case 'shade':
      // CPT as adapted by ReCLIP: the shaded box, and a caption without "a photo of".
      return { name, edit: { kind: 'shade' }, textTemplate: SHADE_TEXT_TEMPLATE };
    case 'grayscale':
      return photo({ kind: 'grayscale' });
    default:
      throw new UserError(`--method ${name}: unknown method (one of ${METHOD_NAMES.join(', ')})`);
  }
}

/**
 * Everything that changes a method's pixels, mask or caption, as a string: the cache key of its
 * features. A parameter missing here would silently reuse stale features (ReCLIP's cache forgot blur σ).
 */
export function methodKey(m: Method): string {
  return JSON.stringify({ edit: m.edit, falip: m.falip ?? null, text: m.textTemplate });
}

/** The text a table footnote gives for a method's parameters. */
export function describeMethod(m: Method): string {
  const parts: string[] = [];
  switch (m.edit.kind) {
    case 'none':
      break;
    case 'redcircle':
      parts.push(`red ellipse ${m.edit.thickness ?? 'max(1,⌊max(W,H)/200⌋)'} px`);
      break;
    case 'redcircle-blur':
      parts.push(`red ellipse ${m.edit.thickness ?? 'max(1,⌊max(W,H)/200⌋)'} px, outside blurred σ ${m.edit.blurSigma}`);
      break;
    case 'blur':
      parts.push(`outside the box blurred, σ ${m.edit.sigma}`);
      break;
    case 'crop':
      parts.push('box cropped and squashed to the input size');
      break;
    case 'shade':
      parts.push('box shaded (240,0,30,α127)');
      break;
    case 'grayscale':
      parts.push('outside the box in grayscale');
      break;
  }
  if (m.falip) parts.push(`foveal mask ${describeFalip(m.falip)}`);
  parts.push(`caption "${m.textTemplate.replace('{}', '<expr>')}"`);
  return `${m.name}: ${parts.join('; ')}`;
}
