import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Device } from '../encoder/execution-provider.js';
import { createSession, floatTensor } from '../encoder/ort-session.js';
import { ElemType, GraphBuilder } from '../model/onnx/graph-builder.js';
import { Rng } from '../util/rng.js';

export interface MatmulPeakOptions {
  device: Device;
  threads?: number;
  /** [m, k, n]: an [m,k] input times a [k,n] weight. */
  shape: readonly [number, number, number];
  /** Timed runs after the warm-up; the fastest one counts. */
  repetitions: number;
}

const WARM_UP_RUNS = 2;

/**
 * The machine's matrix-multiply peak through the same ORT runtime and session settings as the encoder:
 * one float32 MatMul whose right operand is an initializer (ORT pre-packs it, as it does the encoder's
 * weights), by default of the shape of the encoder's largest product (the MLP's fc1 on a full batch).
 * GFLOP/s of the fastest run: slower ones measure interference.
 */
export async function matmulPeakGflops(opts: MatmulPeakOptions): Promise<number> {
  const [m, k, n] = opts.shape;
  const rng = new Rng(0);
  const weight = new Float32Array(k * n);
  rng.fillNormal(weight, 1);
  const input = new Float32Array(m * k);
  rng.fillNormal(input, 1);

  // Every tensor is inline, so the external weights file named here is never written or read.
  const g = new GraphBuilder('unused.bin');
  const a = g.input('a', ElemType.FLOAT, [m, k]);
  g.output('c', g.op('MatMul', [a, g.constFloat(Array.from(weight), [k, n])]), ElemType.FLOAT, [m, n]);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'falip-matmul-'));
  try {
    const file = path.join(dir, 'matmul.onnx');
    await writeFile(file, g.toBytes('matmul_peak'));
    const session = await createSession(file, { device: opts.device, threads: opts.threads });
    const feeds = { a: floatTensor(input, [m, k]) };
    for (let i = 0; i < WARM_UP_RUNS; i++) await session.run(feeds);
    let best = Infinity;
    for (let i = 0; i < opts.repetitions; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    await session.release();
    return (2 * m * k * n) / best / 1e9;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
