/**
 * A small seeded pseudo-random generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting
 * generator, 128-bit state, 32-bit output) whose state is filled from the seed by splitmix32.
 * Generated model weights must be reproducible from their seed alone, which `Math.random` cannot
 * give. The normals use Math.log (implemented in software by V8, from fdlibm) and the correctly
 * rounded Math.sqrt, so the same seed gives the same values on every platform.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box–Muller yields normals in pairs; the second one waits here for the next `normal()`. */
  private spareNormal: number | undefined;

  /** `seed` is an integer; only its low 32 bits are used. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Rng seed must be an integer, got ${seed}`);
    let s = seed >>> 0;
    // splitmix32 spreads even tiny seeds (0, 1, 2…) over the whole state, so nearby seeds give
    // unrelated streams and no state word starts at zero.
    const splitmix32 = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix32();
    this.b = splitmix32();
    this.c = splitmix32();
    this.d = splitmix32();
  }

  /** The next raw 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal sample (polar Box–Muller). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return z;
    }
    const [z0, z1] = this.normalPair();
    this.spareNormal = z1;
    return z0;
  }

  /**
   * Fills `out` with N(0, std²) samples. Consumes the generator exactly like `out.length` calls
   * of `normal()` scaled by `std`, but without the per-sample bookkeeping, since whole weight
   * matrices (tens of millions of values for ViT-B/16) are filled this way.
   */
  fillNormal(out: Float32Array, std: number): void {
    let i = 0;
    if (this.spareNormal !== undefined && out.length > 0) {
      out[i++] = this.spareNormal * std;
      this.spareNormal = undefined;
    }
    for (; i + 1 < out.length; i += 2) {
      const [z0, z1] = this.normalPair();
      out[i] = z0 * std;
      out[i + 1] = z1 * std;
    }
    if (i < out.length) out[i] = this.normal() * std;
  }

  /**
   * Two independent standard normals by the polar form of Box–Muller (Marsaglia): a uniform point
   * in the unit disc replaces the cos/sin of an angle, which roughly halves the cost per sample.
   */
  private normalPair(): [number, number] {
    for (;;) {
      const u = 2 * this.next() - 1;
      const v = 2 * this.next() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const factor = Math.sqrt((-2 * Math.log(s)) / s);
        return [u * factor, v * factor];
      }
    }
  }
}
