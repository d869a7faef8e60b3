import { blur } from './blur.js';
import { crop } from './crop.js';
import { falip } from './falip.js';
import { featureMask } from './feature-mask.js';
import { grayscale } from './grayscale.js';
import { grayscaleCircle } from './grayscale-circle.js';
import type { MethodDefinition } from './method-definition.js';
import type { ParamSpec, ParamTable } from './params.js';
import { pasta } from './pasta.js';
import { plain } from './plain.js';
import { redcircle } from './redcircle.js';
import { redcircleBlur } from './redcircle-blur.js';
import { replaceQk } from './replace-qk.js';
import { replaceV } from './replace-v.js';
import { shade } from './shade.js';
import { unleash } from './unleash.js';

/** Every visual prompt falip knows; a new one is a file in this folder and a line here. */
export const METHOD_DEFINITIONS: readonly MethodDefinition[] = [
  plain,
  falip,
  redcircle,
  redcircleBlur,
  blur,
  crop,
  shade,
  grayscale,
  grayscaleCircle,
  pasta,
  featureMask,
  replaceV,
  replaceQk,
  unleash,
] as MethodDefinition[];

const BY_NAME = new Map(METHOD_DEFINITIONS.map((d) => [d.name, d]));

/**
 * The registered parts of a method name: `redcircle+falip` → redcircle, falip. Longest names first, so
 * `redcircle+blur+unleash` is FALIP's circle (`redcircle+blur`) composed with unleash. Undefined when
 * some part is not a registered name.
 */
export function methodParts(name: string): MethodDefinition[] | undefined {
  const pieces = name.split('+');
  const parts: MethodDefinition[] = [];
  for (let i = 0; i < pieces.length; ) {
    let j = pieces.length;
    while (j > i && !BY_NAME.has(pieces.slice(i, j).join('+'))) j--;
    if (j === i) return undefined;
    parts.push(BY_NAME.get(pieces.slice(i, j).join('+'))!);
    i = j;
  }
  return parts;
}

/** Every parameter any registered method reads, once per name (shared parameters are one object). */
export function allMethodParams(): [string, ParamSpec][] {
  const seen = new Map<string, ParamSpec>();
  for (const d of METHOD_DEFINITIONS)
    for (const [k, spec] of Object.entries(d.params as ParamTable)) if (!seen.has(k)) seen.set(k, spec);
  return [...seen];
}
