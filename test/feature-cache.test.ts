import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FeatureCache } from '../src/encoder/feature-cache.js';

const dir = mkdtempSync(path.join(tmpdir(), 'falip-fcache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FeatureCache', () => {
  it('round-trips features bit for bit and counts hits and misses', async () => {
    const cache = new FeatureCache(dir, 'model-a|graphs v1');
    const key = cache.key(['img-sha', '{"edit":"none"}', '1,2,3,4']);
    expect(await cache.get(key)).toBeUndefined();
    const value = Float32Array.from([0.1, -2.5, Math.PI, 1e-30]);
    await cache.put(key, value);
    expect(Array.from((await cache.get(key))!)).toEqual(Array.from(value));
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
    // Atomic writes leave no temporary files behind.
    const shard = readdirSync(dir).find((d) => d.length === 2)!;
    expect(readdirSync(path.join(dir, shard)).every((f) => f.endsWith('.f32'))).toBe(true);
  });

  it('gives a different key when any part or the model changes, the same key otherwise', () => {
    const a = new FeatureCache(dir, 'model-a|graphs v1');
    const b = new FeatureCache(dir, 'model-b|graphs v1');
    const parts = ['img', 'method', 'box'];
    expect(a.key(parts)).toBe(a.key([...parts]));
    expect(a.key(parts)).not.toBe(b.key(parts));
    for (let i = 0; i < parts.length; i++) {
      const changed = parts.map((p, j) => (j === i ? `${p}'` : p));
      expect(a.key(changed)).not.toBe(a.key(parts));
    }
    // Parts are delimited: moving a character across a boundary is a different key.
    expect(a.key(['ab', 'c'])).not.toBe(a.key(['a', 'bc']));
  });
});
