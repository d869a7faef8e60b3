import { describe, expect, it } from 'vitest';
import { RateMeter } from '../../src/cli/progress.js';

describe('RateMeter', () => {
  it('has no ETA before any work, never NaN or Infinity', () => {
    const m = new RateMeter(100, 0);
    expect(m.eta()).toBe('?');
    expect(m.rate()).toBe(0);
    m.add(0, performance.now());
    expect(m.eta()).toBe('?');
  });

  it('does not count work found done (a resume) in the rate', () => {
    const t = performance.now();
    const m = new RateMeter(100, 60);
    m.add(1, t);
    m.add(9, t + 4500);
    // 9 units in 4.5 s after the first is 2/s, whatever the 60 resumed ones; 30 left → 15 s.
    expect(m.rate()).toBeCloseTo(2, 1);
    expect(m.done).toBe(70);
    expect(m.eta()).toBe('15 s');
  });

  it('starts the clock at the first unit done: setup before it is not part of the rate', () => {
    const t = performance.now();
    const m = new RateMeter(912, 0);
    m.add(1, t + 12_000); // graphs built, first sentence scored after 12 s
    expect(m.eta()).toBe('?');
    m.add(20, t + 13_000); // then 20/s
    expect(m.rate()).toBeCloseTo(20, 6);
    expect(m.eta()).toBe('45 s');
  });

  it('smooths the rate: one slow interval moves it by its weight, not to its value', () => {
    const t = performance.now();
    const m = new RateMeter(1000, 0);
    m.add(1, t);
    m.add(100, t + 10_000); // 10/s
    m.add(1, t + 11_000); // 1/s for one second
    const w = 1 - Math.exp(-1 / 10);
    expect(m.rate()).toBeCloseTo(w * 1 + (1 - w) * 10, 3);
    expect(m.eta()).toMatch(/^1 min \d\d s$/);
  });
});
