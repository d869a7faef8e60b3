import { createHash } from 'node:crypto';
import { Rng } from '../../util/rng.js';
import type { DatasetPin } from '../../datasets/dataset-pin.js';
import type { LoadedSplit, Sampling } from '../task-definition.js';

/**
 * A seeded random subset of `n` items, kept in their original order: `--limit` must not mean
 * "the first N" (manifests are sorted by image, so the first N would be a few images only).
 */
export function seededSubset<T>(items: readonly T[], n: number | undefined, seed: number): T[] {
  if (n === undefined || n >= items.length) return [...items];
  return sampleIndices(items.length, n, new Rng(seed))
    .sort((a, b) => a - b)
    .map((i) => items[i]!);
}

/**
 * `n` distinct indices of 0..length−1 (all of them when n ≥ length), drawn uniformly without replacement
 * by a partial Fisher–Yates shuffle, in draw order. Every seeded sample falip takes goes through here.
 */
export function sampleIndices(length: number, n: number, rng: Rng): number[] {
  const idx = Array.from({ length }, (_, i) => i);
  const k = Math.min(n, length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (length - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
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
 * A split loaded for a run: `sampleSplit`'s items of this run become its data, their ids
 * (or, with `itemIdsOf`, the ids of the records each produces) its item ids.
 */
export function sampledSplit<T extends { id: string }, D>(
  split: {
    key: string;
    dir: string;
    all: readonly T[];
    sampling: Sampling;
    pin: DatasetPin;
    itemIdsOf?: (sample: T) => readonly string[];
  },
  dataOf: (samples: T[]) => D,
): LoadedSplit<D> {
  const { key, dir, all, sampling, pin, itemIdsOf = (s) => [s.id] } = split;
  const { sampled, mine: samples } = sampleSplit(all, sampling, (s) => s.id);
  return {
    key,
    dir,
    itemIds: new Set(samples.flatMap(itemIdsOf)),
    units: samples.length,
    contentHash: pin.contentHash,
    pin,
    samples: { total: all.length, evaluated: sampled.length },
    data: dataOf(samples),
  };
}
