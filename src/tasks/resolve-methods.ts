import type { VisionConfig } from '../model/clip-config.js';
import type { FalipParams } from '../prompts/falip.js';
import { parseLayers } from '../prompts/layer-spec.js';
import { makeMethod, type Method } from '../prompts/method.js';
import type { MethodEntry } from './table-config.js';

/** A config's method entry (a name, or a name with parameters) → a Method with every default filled in. */
export function methodFromEntry(entry: MethodEntry, v: VisionConfig): Method {
  if (typeof entry === 'string') return makeMethod(entry, v);
  // `layers` and `heads` mean the foveal mask's for FALIP methods, the ablation's or PASTA's otherwise.
  const layers = entry.layers === undefined ? undefined : parseLayers(String(entry.layers), v.numLayers);
  const heads = entry.heads === undefined ? undefined : parseLayers(String(entry.heads), v.numHeads);
  const falip: Partial<FalipParams> = {
    ...(entry.alpha !== undefined && { alpha: entry.alpha }),
    ...(entry.sigma !== undefined && { sigma: entry.sigma }),
    ...(entry.form !== undefined && { form: entry.form }),
    ...(layers && { layers }),
    ...(heads && { heads }),
  };
  return makeMethod(entry.name, v, {
    falip,
    ...(layers && { layers }),
    ...(heads && { heads }),
    ...(entry.circle_thickness !== undefined && { circleThickness: entry.circle_thickness }),
    ...(entry.blur_sigma !== undefined && { blurSigma: entry.blur_sigma }),
    ...(entry.site !== undefined && { featureMaskSite: entry.site }),
    ...(entry.head_weight !== undefined && { unleashWeight: entry.head_weight }),
    ...(entry.coefficient !== undefined && { pastaCoefficient: entry.coefficient }),
  });
}
