/**
 * How many alternating rounds `falip bench` gives a comparison (FALIP against plain, prompted against
 * plain): three when each side's round is long, more while either side has run for under two seconds in
 * all (a small model's round lasts milliseconds), thirty at most. The clock is vitest's: each side
 * advances it by the time its round "takes".
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bestOfAlternating } from '../../src/bench/run-bench.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A side whose k-th round takes `ms[k]` (the last value repeated) and measures `rates[k]`. */
function side(ms: number[], rates: number[]) {
  let k = 0;
  const fn = vi.fn(async () => {
    vi.advanceTimersByTime(ms[Math.min(k, ms.length - 1)]!);
    return rates[k++ % rates.length]!;
  });
  return fn;
}

describe('bestOfAlternating', () => {
  it('runs three rounds when each lasts a second, and keeps each side’s best', async () => {
    const a = side([1000], [10, 30, 20]);
    const b = side([1000], [5, 4, 6]);
    expect(await bestOfAlternating([a, b])).toEqual([30, 6]);
    expect([a.mock.calls.length, b.mock.calls.length]).toEqual([3, 3]);
  });

  it('goes on while either side has run under two seconds in all', async () => {
    // Side b's rounds take 300 ms: it reaches 2 s in its seventh round.
    const a = side([1000], [1]);
    const b = side([300], [1]);
    await bestOfAlternating([a, b]);
    expect(b.mock.calls.length).toBe(7);
  });

  it('stops at thirty rounds however short they are', async () => {
    const a = side([1], [1]);
    const b = side([1], [2]);
    expect(await bestOfAlternating([a, b])).toEqual([1, 2]);
    expect(a.mock.calls.length).toBe(30);
  });
});
