import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';

const U32 = (1n << 32n) - 1n;

/** splitmix32 seeding + sfc32, written independently with BigInt arithmetic modulo 2³². */
function referenceUint32s(seed: number, count: number): number[] {
  let s = BigInt(seed) & U32;
  const mix = (): bigint => {
    s = (s + 0x9e3779b9n) & U32;
    let z = s;
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & U32;
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & U32;
    return z ^ (z >> 16n);
  };
  let [a, b, c, d] = [mix(), mix(), mix(), mix()];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = (a + b + d) & U32;
    d = (d + 1n) & U32;
    a = b ^ (b >> 9n);
    b = (c + (c << 3n)) & U32;
    c = ((c << 21n) | (c >> 11n)) & U32;
    c = (c + t) & U32;
    out.push(Number(t));
  }
  return out;
}

describe('Rng', () => {
  it('pins the first outputs for seed 1', () => {
    const r = new Rng(1);
    expect([0, 1, 2, 3, 4].map(() => r.nextUint32())).toEqual([
      587941090, 3698788925, 2524488572, 3535790054, 330041027,
    ]);
    const u = new Rng(1);
    expect(u.next()).toBe(587941090 / 2 ** 32);
    expect(u.next()).toBeCloseTo(0.8611914061475545, 15);
    const n = new Rng(1);
    expect(n.normal()).toBeCloseTo(0.33175444789495523, 14);
    expect(n.normal()).toBeCloseTo(1.2216732353118007, 14);
  });

  it('matches an independent BigInt implementation of splitmix32 + sfc32', () => {
    for (const seed of [0, 1, 42, 0xffffffff]) {
      const r = new Rng(seed);
      const ours = Array.from({ length: 1000 }, () => r.nextUint32());
      expect(ours).toEqual(referenceUint32s(seed, 1000));
    }
  });

  it('derives the first normal pair from the uniforms by the polar method (with rejection)', () => {
    const uniforms = referenceUint32s(1, 20).map((x) => 2 * (x / 2 ** 32) - 1);
    let pair = 0;
    let s = Infinity;
    for (; s >= 1 || s === 0; pair++) s = uniforms[2 * pair]! ** 2 + uniforms[2 * pair + 1]! ** 2;
    expect(pair).toBeGreaterThan(1); // seed 1's first point lies outside the unit disc: rejection is exercised
    const [a, b] = [uniforms[2 * pair - 2]!, uniforms[2 * pair - 1]!];
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    const r = new Rng(1);
    expect(r.normal()).toBe(a * f);
    expect(r.normal()).toBe(b * f);
  });

  it('gives different streams for different seeds and equal streams for equal seeds', () => {
    const draw = (seed: number): number[] => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('fillNormal consumes the stream exactly like repeated normal() calls', () => {
    const a = new Rng(3);
    a.normal(); // leave a spare normal pending, so fillNormal must use it first
    const filled = new Float32Array(7);
    a.fillNormal(filled, 2);
    const tail = a.normal();
    const b = new Rng(3);
    b.normal();
    const one = Float32Array.from({ length: 7 }, () => b.normal() * 2);
    expect(filled).toEqual(one);
    expect(tail).toBe(b.normal());
  });

  it('produces normals with mean 0 and the requested std', () => {
    const out = new Float32Array(100_000);
    new Rng(1).fillNormal(out, 3);
    let sum = 0;
    let sumSq = 0;
    for (const x of out) {
      sum += x;
      sumSq += x * x;
    }
    const mean = sum / out.length;
    const std = Math.sqrt(sumSq / out.length - mean * mean);
    // Standard errors: 3/√1e5 ≈ 0.0095 for the mean, 3/√2e5 ≈ 0.0067 for the std.
    expect(Math.abs(mean)).toBeLessThan(0.04);
    expect(Math.abs(std - 3)).toBeLessThan(0.03);
    // Normal tails: about 0.27% of samples beyond 3σ.
    const beyond = out.filter((x) => Math.abs(x) > 9).length / out.length;
    expect(beyond).toBeGreaterThan(0.0018);
    expect(beyond).toBeLessThan(0.0036);
  });

  it('next() stays in [0, 1)', () => {
    const r = new Rng(9);
    for (let i = 0; i < 10_000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
