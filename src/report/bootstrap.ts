import { Rng } from '../util/rng.js';

/** Seeded percentile bootstrap for accuracies, other cell statistics, and paired differences. */

export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  iterations?: number;
  /** Integer seed of the resampling stream (default 0); equal inputs and seed give equal intervals. */
  seed?: number;
  /** Two-sided coverage of the interval (default 0.95). */
  level?: number;
}

export interface MeanInterval {
  mean: number;
  lo: number;
  hi: number;
}

export interface DiffInterval {
  diff: number;
  lo: number;
  hi: number;
}

/** Booleans count as 0/100 so accuracies and their intervals come out in percent. */
function asValues(values: readonly boolean[] | readonly number[]): number[] {
  return values.map((v) => (typeof v === 'boolean' ? (v ? 100 : 0) : v));
}

/** Linear interpolation between order statistics (R's type 7, numpy's default). */
function quantile(sorted: Float64Array, p: number): number {
  const pos = (sorted.length - 1) * p;
  const below = Math.floor(pos);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (pos - below);
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function percentileInterval(sortedStats: Float64Array, level: number): [number, number] {
  const tail = (1 - level) / 2;
  return [quantile(sortedStats, tail), quantile(sortedStats, 1 - tail)];
}

/**
 * `statistic` of `iterations` resamples (with replacement) of n item indices, sorted ascending. The
 * statistic reads the resample as a list of indices, so one resample serves paired cells too.
 */
function resampledStatistics(
  n: number,
  statistic: (indices: Uint32Array) => number,
  opts: BootstrapOptions,
): Float64Array {
  const { iterations = 2000, seed = 0 } = opts;
  if (n === 0) throw new Error('bootstrap of an empty sample');
  if (!Number.isInteger(seed)) throw new Error(`bootstrap seed must be an integer, got ${seed}`);
  const rng = new Rng(seed);
  const stats = new Float64Array(iterations);
  const indices = new Uint32Array(n);
  for (let it = 0; it < iterations; it++) {
    for (let k = 0; k < n; k++) indices[k] = Math.floor(rng.next() * n);
    stats[it] = statistic(indices);
  }
  return stats.sort();
}

function meanOfResample(values: readonly number[]): (indices: Uint32Array) => number {
  return (indices) => {
    let sum = 0;
    for (const i of indices) sum += values[i]!;
    return sum / indices.length;
  };
}

/** Mean of `values` with a percentile bootstrap interval (percent when `values` are booleans). */
export function bootstrapCI(values: readonly boolean[] | readonly number[], opts: BootstrapOptions = {}): MeanInterval {
  const numbers = asValues(values);
  const [lo, hi] = percentileInterval(
    resampledStatistics(numbers.length, meanOfResample(numbers), opts),
    opts.level ?? 0.95,
  );
  return { mean: mean(numbers), lo, hi };
}

/**
 * mean(a) − mean(b) over the same items (a[i] and b[i] are one item under two methods), with an
 * interval from resampling item indices jointly, which keeps the pairing and so is much tighter
 * than two independent intervals.
 */
export function pairedBootstrapDiff(
  a: readonly boolean[] | readonly number[],
  b: readonly boolean[] | readonly number[],
  opts: BootstrapOptions = {},
): DiffInterval {
  if (a.length !== b.length) throw new Error(`paired bootstrap needs equal lengths, got ${a.length} and ${b.length}`);
  const va = asValues(a);
  const vb = asValues(b);
  // Resampling indices jointly is the same as resampling the per-item differences.
  const itemDiffs = va.map((x, i) => x - vb[i]!);
  const [lo, hi] = percentileInterval(
    resampledStatistics(itemDiffs.length, meanOfResample(itemDiffs), opts),
    opts.level ?? 0.95,
  );
  return { diff: mean(itemDiffs), lo, hi };
}

/**
 * Any statistic of n items (mean accuracy per class, worst-group accuracy) with a percentile interval
 * from resampling the items; `statistic` receives the indices of one resample (all of them, in order,
 * for the point estimate).
 */
export function bootstrapStatistic(
  n: number,
  statistic: (indices: Uint32Array) => number,
  opts: BootstrapOptions = {},
): MeanInterval {
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const [lo, hi] = percentileInterval(resampledStatistics(n, statistic, opts), opts.level ?? 0.95);
  return { mean: statistic(all), lo, hi };
}
