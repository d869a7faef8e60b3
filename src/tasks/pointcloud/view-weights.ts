import { argmax } from '../shared/scores.js';
/**
 * PointCLIP's view weights β: the logit of class c is Σ_v β_v · 100·cos(f_v, t_c) (up to PointCLIP's
 * constant 1/√6, which no argmax sees), and its post-search tries every β in {0.25, 0.5, 0.75, 1}^6.
 */
export const SEARCH_VALUES = [0.25, 0.5, 0.75, 1] as const;

/** One cloud's per-view class scores, view-major [V][C], and its label. */
export interface ViewScores {
  views: Float64Array[];
  label: number;
}

/** Σ_v β_v · scores[v][c]. */
export function weightedScores(views: readonly Float64Array[], beta: readonly number[]): Float64Array {
  const out = new Float64Array(views[0]!.length);
  views.forEach((s, v) => {
    for (let c = 0; c < out.length; c++) out[c]! += beta[v]! * s[c]!;
  });
  return out;
}

/** Clouds whose argmax under β is their label. */
function hits(clouds: readonly ViewScores[], beta: readonly number[]): number {
  let n = 0;
  for (const cloud of clouds) if (argmax(weightedScores(cloud.views, beta)) === cloud.label) n++;
  return n;
}

/**
 * The β of the grid with the most correct clouds; ties keep the first in the grid's order (the last
 * view's value varying fastest, from 0.25 up), which is how a nested loop over the views finds them.
 */
export function searchViewWeights(
  clouds: readonly ViewScores[],
  viewCount: number,
): { beta: number[]; correct: number } {
  let best = { beta: Array<number>(viewCount).fill(1), correct: -1 };
  const beta = Array<number>(viewCount).fill(SEARCH_VALUES[0]);
  const combos = SEARCH_VALUES.length ** viewCount;
  for (let i = 0; i < combos; i++) {
    let rest = i;
    for (let v = viewCount - 1; v >= 0; v--) {
      beta[v] = SEARCH_VALUES[rest % SEARCH_VALUES.length]!;
      rest = Math.floor(rest / SEARCH_VALUES.length);
    }
    const correct = hits(clouds, beta);
    if (correct > best.correct) best = { beta: [...beta], correct };
  }
  return best;
}
