import type { AttentionProbs } from '../encoder/encoder.js';
import { gridSize, type VisionConfig } from '../model/clip-config.js';
import { entropy } from './attention-stats.js';

/**
 * Seed 003's attention statistics per (layer, head) of one image's attention, and our gradient-free
 * foreground index; docs/attention-statistics.md defines each. The sequence is [CLS, patches (g² of
 * them, row-major), prompt tokens (n_v, a prompt-tuned CLIP's)].
 */

/** The statistics of one (layer, head), for one image or their mean over images. */
export interface HeadStatistics {
  /** Mean over the image's query rows (CLS and patches) of each row's entropy over all keys, nats. */
  entropy_all: number;
  /** Entropy of the CLS row over all keys, nats. */
  entropy_cls: number;
  /** Mean over patch queries of the attention-weighted distance to the patch keys, pixels ("W/O prompt"). */
  distance_wo_prompt: number;
  /** The same over patch and prompt keys, a prompt token placed where the grid would continue ("W prompt"). */
  distance_w_prompt: number;
  /** The CLS row's attention on the prompt tokens (0 without vision prompts). */
  cls_prompt_mass: number;
  /** Ours: the share of the CLS row's attention on the patches that lies on the foreground, each patch weighted by its foreground fraction. */
  cls_foreground_share: number;
}

export const HEAD_STATISTICS = [
  'entropy_all',
  'entropy_cls',
  'distance_wo_prompt',
  'distance_w_prompt',
  'cls_prompt_mass',
  'cls_foreground_share',
] as const satisfies readonly (keyof HeadStatistics)[];

/**
 * Centre of token `t`'s place in the input image, pixels: patch t (1..g²) at its grid cell; the k-th
 * prompt token (t = g² + 1 + k) where a row-major grid would continue past its last row, at row g + ⌊k/g⌋,
 * column k mod g. Prompt tokens have no place in the image; this one is the place their sequence index
 * gives them (as an index-based implementation reads them), so "W prompt" grows when a patch attends to
 * them, by how far below the image they sit.
 */
export function tokenCentre(t: number, g: number, patch: number): [number, number] {
  const i = t - 1;
  return [((i % g) + 0.5) * patch, (Math.floor(i / g) + 0.5) * patch];
}

/** Euclidean distances between every token pair of the sequence, pixels [T·T] (CLS row and column unused). */
function distances(T: number, g: number, patch: number): Float64Array {
  const d = new Float64Array(T * T);
  for (let i = 1; i < T; i++) {
    const [xi, yi] = tokenCentre(i, g, patch);
    for (let j = 1; j < T; j++) {
      const [xj, yj] = tokenCentre(j, g, patch);
      d[i * T + j] = Math.hypot(xi - xj, yi - yj);
    }
  }
  return d;
}

/**
 * The statistics of every (layer, head) [L·H] of one image's attention. `foreground` [g²] is each
 * patch's foreground fraction in [0, 1] (from a mask or a box, in the input image the encoder sees).
 */
export function headStatistics(a: AttentionProbs, v: VisionConfig, foreground: Float64Array): HeadStatistics[] {
  const g = gridSize(v);
  const patches = g * g;
  const T = a.tokens;
  const imageTokens = 1 + patches;
  if (T !== imageTokens + a.promptTokens)
    throw new Error(`attention of ${T} tokens, expected ${imageTokens} + prompts`);
  if (foreground.length !== patches) throw new Error(`foreground of ${foreground.length} patches, expected ${patches}`);
  if (a.probs.length !== v.numLayers * v.numHeads * T * T) throw new Error('attention probabilities of the wrong size');
  const d = distances(T, g, v.patchSize);
  const out: HeadStatistics[] = [];
  for (let lh = 0; lh < v.numLayers * v.numHeads; lh++) {
    const plane = a.probs.subarray(lh * T * T, (lh + 1) * T * T);
    let entropyAll = 0;
    for (let i = 0; i < imageTokens; i++) entropyAll += entropy(plane.subarray(i * T, (i + 1) * T));
    let wo = 0;
    let w = 0;
    for (let i = 1; i < imageTokens; i++) {
      let massPatches = 0;
      let sumPatches = 0;
      for (let j = 1; j < imageTokens; j++) {
        massPatches += plane[i * T + j]!;
        sumPatches += plane[i * T + j]! * d[i * T + j]!;
      }
      let massPrompts = 0;
      let sumPrompts = 0;
      for (let j = imageTokens; j < T; j++) {
        massPrompts += plane[i * T + j]!;
        sumPrompts += plane[i * T + j]! * d[i * T + j]!;
      }
      wo += massPatches > 0 ? sumPatches / massPatches : 0;
      const both = massPatches + massPrompts;
      w += both > 0 ? (sumPatches + sumPrompts) / both : 0;
    }
    const cls = plane.subarray(0, T);
    let onPatches = 0;
    let onForeground = 0;
    for (let j = 1; j < imageTokens; j++) {
      onPatches += cls[j]!;
      onForeground += cls[j]! * foreground[j - 1]!;
    }
    let onPrompts = 0;
    for (let j = imageTokens; j < T; j++) onPrompts += cls[j]!;
    out.push({
      entropy_all: entropyAll / imageTokens,
      entropy_cls: entropy(cls),
      distance_wo_prompt: wo / patches,
      distance_w_prompt: w / patches,
      cls_prompt_mass: onPrompts,
      cls_foreground_share: onPatches > 0 ? onForeground / onPatches : 0,
    });
  }
  return out;
}

/** The per-(layer, head) mean over images of their statistics, summed in the order given. */
export function meanStatistics(perImage: readonly HeadStatistics[][]): HeadStatistics[] {
  const n = perImage.length;
  if (n === 0) return [];
  return perImage[0]!.map((_, lh) => {
    const mean = {} as HeadStatistics;
    for (const k of HEAD_STATISTICS) mean[k] = perImage.reduce((s, img) => s + img[lh]![k], 0) / n;
    return mean;
  });
}
