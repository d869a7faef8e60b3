import { Rng } from '../util/rng.js';

/**
 * A seeded random subset of `n` items, kept in their original order: `--limit` must not mean
 * "the first N" (manifests are sorted by image, so the first N would be a few images only).
 */
export function seededSubset<T>(items: readonly T[], n: number | undefined, seed: number): T[] {
  if (n === undefined || n >= items.length) return [...items];
  const rng = new Rng(seed);
  const idx = items.map((_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng.next() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => items[i]!);
}
