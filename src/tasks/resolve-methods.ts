import type { VisionConfig } from '../model/clip-config.js';
import type { FalipParams } from '../prompts/falip.js';
import { parseLayers } from '../prompts/layer-spec.js';
import { makeMethod, type Method } from '../prompts/method.js';
import type { MethodEntry } from './table-config.js';

/** A config's method entry (a name, or a name with parameters) → a Method with every default filled in. */
export function methodFromEntry(entry: MethodEntry, v: VisionConfig): Method {
  if (typeof entry === 'string') return makeMethod(entry, v);
  const falip: Partial<FalipParams> = {
    ...(entry.alpha !== undefined && { alpha: entry.alpha }),
    ...(entry.sigma !== undefined && { sigma: entry.sigma }),
    ...(entry.form !== undefined && { form: entry.form }),
    ...(entry.layers !== undefined && { layers: parseLayers(String(entry.layers), v.numLayers) }),
    ...(entry.heads !== undefined && { heads: parseLayers(String(entry.heads), v.numHeads) }),
  };
  return makeMethod(entry.name, v, {
    falip,
    ...(entry.circle_thickness !== undefined && { circleThickness: entry.circle_thickness }),
    ...(entry.blur_sigma !== undefined && { blurSigma: entry.blur_sigma }),
  });
}
