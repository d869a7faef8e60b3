/**
 * Seeded percentile bootstrap for accuracies and paired accuracy differences.
 *
 * Resampling uses its own tiny generator (mulberry32) rather than the project's model-weight Rng so
 * that published intervals never shift when that generator changes; unifying the two is an open
 * question for the lead.
 */

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

/**
 * mulberry32 (Tommy Ettinger's 32-bit-state generator): uniform floats in [0, 1). The state starts
 * as the low 32 bits of `seed`; its period (2^32) is far above the ~10^7 draws one interval needs.
 */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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

/** Means of `iterations` resamples (with replacement) of `values`, sorted ascending. */
function resampledMeans(values: readonly number[], opts: BootstrapOptions): Float64Array {
  const { iterations = 2000, seed = 0 } = opts;
  if (values.length === 0) throw new Error('bootstrap of an empty sample');
  if (!Number.isInteger(seed)) throw new Error(`bootstrap seed must be an integer, got ${seed}`);
  const random = mulberry32(seed);
  const n = values.length;
  const means = new Float64Array(iterations);
  for (let it = 0; it < iterations; it++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += values[Math.floor(random() * n)]!;
    means[it] = sum / n;
  }
  return means.sort();
}

function percentileInterval(sortedMeans: Float64Array, level: number): [number, number] {
  const tail = (1 - level) / 2;
  return [quantile(sortedMeans, tail), quantile(sortedMeans, 1 - tail)];
}

/** Mean of `values` with a percentile bootstrap interval (percent when `values` are booleans). */
export function bootstrapCI(values: readonly boolean[] | readonly number[], opts: BootstrapOptions = {}): MeanInterval {
  const numbers = asValues(values);
  const [lo, hi] = percentileInterval(resampledMeans(numbers, opts), opts.level ?? 0.95);
  return { mean: mean(numbers), lo, hi };
}

/**
 * mean(a) − mean(b) over the same items (a[i] and b[i] are one item under two methods), with an
 * interval from resampling item indices jointly, which keeps the pairing and so is much tighter
 * than two independent intervals.
 */
export function pairedBootstrapDiff(a: readonly boolean[], b: readonly boolean[], opts: BootstrapOptions = {}): DiffInterval {
  if (a.length !== b.length) throw new Error(`paired bootstrap needs equal lengths, got ${a.length} and ${b.length}`);
  const va = asValues(a);
  const vb = asValues(b);
  // Resampling indices jointly is the same as resampling the per-item differences.
  const itemDiffs = va.map((x, i) => x - vb[i]!);
  const [lo, hi] = percentileInterval(resampledMeans(itemDiffs, opts), opts.level ?? 0.95);
  return { diff: mean(itemDiffs), lo, hi };
}
