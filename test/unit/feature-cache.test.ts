import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/util/errors.js';
import { FeatureCache } from '../../src/encoder/feature-cache.js';

const dir = mkdtempSync(path.join(tmpdir(), 'falip-fcache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FeatureCache', () => {
  it('round-trips features bit for bit and counts hits and misses', async () => {
    const cache = new FeatureCache(dir, 'model-a|graphs v1');
    const key = cache.key(['img-sha', '{"edit":"none"}', '1,2,3,4']);
    expect(await cache.get(key, 4)).toBeUndefined();
    const value = Float32Array.from([0.1, -2.5, Math.PI, 1e-30]);
    await cache.put(key, value);
    expect(Array.from((await cache.get(key, 4))!)).toEqual(Array.from(value));
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

  it('detects a flipped byte, a truncated file, a wrong length and a foreign file: reported once, deleted, recomputed', async () => {
    const cache = new FeatureCache(dir, 'model-c');
    const value = Float32Array.from({ length: 8 }, (_, i) => i / 7);
    const damage: [string, (b: Buffer) => Buffer][] = [
      [
        'checksum mismatch',
        (b) => {
          const c = Buffer.from(b);
          c[c.length - 3] = c[c.length - 3]! ^ 0x01;
          return c;
        },
      ],
      ['holds 8 float32 values, expected 9 float32', (b) => b],
      ['27 data bytes, expected 32', (b) => b.subarray(0, b.length - 5)],
      ['not a falip feature file', () => Buffer.from(new Float32Array(8).buffer)],
    ];
    for (const [i, [reason, hurt]] of damage.entries()) {
      const key = cache.key([`entry-${i}`]);
      await cache.put(key, value);
      const file = path.join(dir, key.slice(0, 2), `${key}.f32`);
      writeFileSync(file, hurt(readFileSync(file)));
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      // Entry 1 is intact but asked for with another length: it is another model's shape.
      const got = await cache.get(key, i === 1 ? 9 : 8);
      const lines = stderr.mock.calls.map((c) => String(c[0]));
      stderr.mockRestore();
      expect(got, reason).toBeUndefined();
      expect(lines).toEqual([expect.stringContaining(`${file}: corrupt feature cache entry (${reason}`)]);
      expect(existsSync(file)).toBe(false);
      // Recomputed and stored again, the entry is used.
      await cache.put(key, value);
      expect(Array.from((await cache.get(key, 8))!)).toEqual(Array.from(value));
    }
    expect(cache.corrupt).toBe(damage.length);
  });

  it('refuses a --cache that is a file', () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => new FeatureCache(file, 'm')).toThrow(new UserError(`--cache ${file}: is a file, not a folder`));
  });
});
