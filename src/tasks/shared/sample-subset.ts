import { createHash } from 'node:crypto';
import { Rng } from '../../util/rng.js';
import type { LoadedColumn, Sampling } from '../task-definition.js';

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

/** The shard (0-based) a sample id belongs to out of `count`: a stable hash, so every process agrees. */
export function shardOfId(id: string, count: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % count;
}

/**
 * What a run evaluates of a split: `--limit`'s seeded subset first (so every shard samples the same
 * items), then, under `--shard K/N`, the items whose id hashes to K.
 */
export function sampleSplit<T>(
  all: readonly T[],
  sampling: Sampling,
  idOf: (item: T) => string,
): { sampled: T[]; mine: T[] } {
  const sampled = seededSubset(all, sampling.limit, sampling.seed);
  const shard = sampling.shard;
  return { sampled, mine: shard ? sampled.filter((s) => shardOfId(idOf(s), shard.count) === shard.index) : sampled };
}

/**
 * A split loaded as a column: `sampleSplit`'s items of this run become the column's data, their ids
 * (or, with `itemIdsOf`, the ids of the records each produces) its item ids.
 */
export function sampledColumn<T extends { id: string }, D>(
  split: {
    key: string;
    dir: string;
    all: readonly T[];
    sampling: Sampling;
    contentHash: string;
    itemIdsOf?: (sample: T) => readonly string[];
  },
  dataOf: (samples: T[]) => D,
): LoadedColumn<D> {
  const { key, dir, all, sampling, contentHash, itemIdsOf = (s) => [s.id] } = split;
  const { sampled, mine: samples } = sampleSplit(all, sampling, (s) => s.id);
  return {
    key,
    dir,
    itemIds: new Set(samples.flatMap(itemIdsOf)),
    units: samples.length,
    contentHash,
    samples: { total: all.length, evaluated: sampled.length },
    data: dataOf(samples),
  };
}
