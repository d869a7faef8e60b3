import type { VisionConfig } from '../model/clip-config.js';
import { UserError } from '../util/errors.js';
import { BLUR_DEFAULTS } from './blur.js';
import type { TokenScaleSite } from '../model/onnx/vision-graph.js';
import { defaultFalipParams, describeFalip, type FalipParams } from './falip.js';
import { FEATURE_MASK_DEFAULTS } from './feature-mask.js';
import { formatLayers } from './layer-spec.js';
import { PASTA_DEFAULT_COEFFICIENT, type PastaParams } from './pasta.js';
import { UNLEASH_DEFAULTS } from './unleash.js';
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
 * The paper's ablations that change how the encoder runs rather than what it sees (Tables 4, 5).
 * `layers` are 0-based. With an edit, "the prompted image" is the edited one (RedCircle).
 */
export type Ablation =
  /** Token features × the region mask (1 on CLS and the region) at `site` in `layers` (Fig. 7a). */
  | { kind: 'feature-mask'; site: TokenScaleSite; layers: number[] }
  /** Original image's stream, attention probabilities from the prompted image (Fig. 7b, "replace v"). */
  | { kind: 'replace-v'; layers: number[] }
  /** Prompted image's stream, probabilities from the original image with the foveal mask (Fig. 7c, "replace q,k"). */
  | { kind: 'replace-qk'; layers: number[] }
  /** Each head's CLS contribution G' → G + w(G' − G) in `layers`, recomposed post hoc (Sec. 4.4). */
  | { kind: 'unleash'; layers: number[]; headWeight: number };

/**
 * One visual prompt ("representation" in ReCLIP's terms): an image edit, optionally an attention
 * bias (FALIP's foveal mask or PASTA's steering) or an ablation, and the text template its captions
 * use. Pure description; the task encodes it.
 */
export interface Method {
  name: string;
  edit: ImageEdit;
  falip?: FalipParams;
  pasta?: Required<Pick<PastaParams, 'coefficient' | 'layers'>> & Pick<PastaParams, 'heads'>;
  ablation?: Ablation;
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
  /** 0-based layers of an ablation or of PASTA (default: FALIP's layers, the last 4). */
  layers?: number[];
  heads?: number[];
  featureMaskSite?: TokenScaleSite;
  unleashWeight?: number;
  pastaCoefficient?: number;
}

export const METHOD_NAMES = [
  'plain',
  'falip',
  'redcircle',
  'redcircle+blur',
  'redcircle+falip',
  'blur',
  'blur+falip',
  'crop',
  'shade',
  'grayscale',
  'pasta',
  'feature-mask',
  'replace-v',
  'replace-qk',
  'redcircle+unleash',
  'redcircle+blur+unleash',
] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** Builds a method from its name (`--method`), e.g. `redcircle+falip` = the RedCircle image with the foveal mask. */
export function makeMethod(name: string, v: VisionConfig, o: MethodOptions = {}): Method {
  const falip = (): FalipParams => ({ ...defaultFalipParams(v), ...o.falip });
  const circle = o.circleThickness === undefined ? {} : { thickness: o.circleThickness };
  // The paper gives no layers for its ablations; FALIP's (the last 4) is our default, stated in footnotes.
  const ablationLayers = (): number[] => o.layers ?? defaultFalipParams(v).layers;
  const unleash = (): Ablation => ({ kind: 'unleash', layers: o.layers ?? UNLEASH_DEFAULTS.layers(v), headWeight: o.unleashWeight ?? UNLEASH_DEFAULTS.headWeight });
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
    case 'pasta':
      return { ...photo({ kind: 'none' }), pasta: { coefficient: o.pastaCoefficient ?? PASTA_DEFAULT_COEFFICIENT, layers: ablationLayers(), ...(o.heads && { heads: o.heads }) } };
    case 'feature-mask':
      return { ...photo({ kind: 'none' }), ablation: { kind: 'feature-mask', site: o.featureMaskSite ?? FEATURE_MASK_DEFAULTS.site, layers: o.layers ?? FEATURE_MASK_DEFAULTS.layers(v) } };
    case 'replace-v':
      return { ...photo({ kind: 'redcircle', ...circle }), ablation: { kind: 'replace-v', layers: ablationLayers() } };
    case 'replace-qk':
      return { ...photo({ kind: 'redcircle', ...circle }, true), ablation: { kind: 'replace-qk', layers: ablationLayers() } };
    case 'redcircle+unleash':
      return { ...photo({ kind: 'redcircle', ...circle }), ablation: unleash() };
    case 'redcircle+blur+unleash':
      return { ...photo({ kind: 'redcircle-blur', ...circle, blurSigma: o.blurSigma ?? REDCIRCLE_BLUR_DEFAULTS.blurSigma }), ablation: unleash() };
    default:
      throw new UserError(`--method ${name}: unknown method (one of ${METHOD_NAMES.join(', ')})`);
  }
}

/**
 * Everything that changes a method's pixels, mask or caption, as a string: the cache key of its
 * features. A parameter missing here would silently reuse stale features (ReCLIP's cache forgot blur σ).
 */
export function methodKey(m: Method): string {
  return JSON.stringify({ edit: m.edit, falip: m.falip ?? null, pasta: m.pasta ?? null, ablation: m.ablation ?? null, text: m.textTemplate });
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
  if (m.pasta) {
    const heads = m.pasta.heads ? `heads ${m.pasta.heads.map((h) => h + 1).join(',')}` : 'all heads (our choice; PASTA profiles heads)';
    parts.push(`PASTA: attention outside the box ×${m.pasta.coefficient} in layers ${formatLayers(m.pasta.layers)}, ${heads}`);
  }
  if (m.ablation) parts.push(describeAblation(m.ablation));
  parts.push(`caption "${m.textTemplate.replace('{}', '<expr>')}"`);
  return `${m.name}: ${parts.join('; ')}`;
}

function describeAblation(a: Ablation): string {
  const layers = `layers ${formatLayers(a.layers)} (our choice: the paper gives none)`;
  switch (a.kind) {
    case 'feature-mask':
      return `feature mask: token features × region mask (1 on CLS and the box) at the ${a.site === 'residual' ? 'residual stream at the input' : 'attention input'} of ${layers}`;
    case 'replace-v':
      return `replace v: the original image's stream with attention probabilities from the RedCircle image in ${layers}`;
    case 'replace-qk':
      return `replace q,k: the RedCircle image's stream with attention probabilities from the original image with the foveal mask in ${layers}`;
    case 'unleash':
      return `unleash: each head's CLS contribution G' becomes G + ${a.headWeight}(G' − G) in layers ${formatLayers(a.layers)}, all heads, out-projection per head, recomposed post hoc before ln_post`;
  }
}
