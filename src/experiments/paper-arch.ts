import type { VisionConfig } from '../model/clip-config.js';

/**
 * The models the paper reports numbers for, by the geometry their parameters refer to: a layer
 * selection ("9-12"), a token grid and an input size mean the same on any model of this geometry,
 * so the paper's number of a row applies (the tiny test model shares ViT-B/16's) and on any other
 * it does not.
 */
export const PAPER_ARCHS = {
  'vit-b-16': { patchSize: 16, imageSize: 224, numLayers: 12 },
  'vit-l-14': { patchSize: 14, imageSize: 224, numLayers: 24 },
} as const;

export type PaperArch = keyof typeof PAPER_ARCHS;

export function matchesPaperArch(
  v: Pick<VisionConfig, 'patchSize' | 'imageSize' | 'numLayers'>,
  arch: PaperArch,
): boolean {
  const a = PAPER_ARCHS[arch];
  return v.patchSize === a.patchSize && v.imageSize === a.imageSize && v.numLayers === a.numLayers;
}
