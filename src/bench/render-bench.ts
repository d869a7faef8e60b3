import type { BenchReport } from './bench-report.js';

/** A speed goal of the encoder; `falip bench --check` fails when a measurement misses one. */
export interface BenchTarget {
  name: string;
  /** The measured value, or undefined when this run did not measure it. */
  value: (r: BenchReport) => number | undefined;
  atMost?: number;
  atLeast?: number;
}

export const BENCH_TARGETS: readonly BenchTarget[] = [
  { name: 'FALIP / plain time', value: (r) => r.falip_over_plain, atMost: 1.05 },
  { name: 'REC speedup over the per-box path', value: (r) => r.rec.speedup, atLeast: 8.5 },
  { name: 'int8 speedup over fp32', value: (r) => r.int8?.speedup, atLeast: 2 },
];

/** The targets this report misses, as lines for an error. */
export function missedTargets(r: BenchReport): string[] {
  return BENCH_TARGETS.flatMap((t) => {
    const v = t.value(r);
    if (v === undefined) return [];
    if (t.atMost !== undefined && v > t.atMost) return [`${t.name} ${v.toFixed(3)} > ${t.atMost}`];
    if (t.atLeast !== undefined && v < t.atLeast) return [`${t.name} ${v.toFixed(2)} < ${t.atLeast}`];
    return [];
  });
}

const targetText = (name: string): string => {
  const t = BENCH_TARGETS.find((x) => x.name === name)!;
  return t.atMost !== undefined ? `target ≤ ${t.atMost}` : `target ≥ ${t.atLeast}`;
};

/** The largest relative difference at which falip's REC path still counts as exact. */
export const REC_MAX_REL_DIFF = 1e-4;

const fixed = (x: number, digits = 1) => x.toFixed(digits);
const percent = (x: number) => `${(100 * x).toFixed(0)}%`;

/** The human-readable form of a bench report: one measurement per line. */
export function renderBench(r: BenchReport): string {
  const N = r.batch_size;
  const threads = r.threads === null ? 'all cores' : `${r.threads} threads`;
  const rows: [string, string][] = [
    ['plain images/s, batch 1', fixed(r.images_per_s.batch1)],
    [`plain images/s, batch ${N}`, fixed(r.images_per_s.batchN)],
    [`FALIP / plain time, batch ${N}`, `${fixed(r.falip_over_plain, 3)}  (${targetText('FALIP / plain time')})`],
    ['REC naive, box·sentence/s', fixed(r.rec.naive_per_s)],
    ['REC falip, box·sentence/s', fixed(r.rec.falip_per_s)],
    ['REC speedup', `${fixed(r.rec.speedup, 2)}×  (${targetText('REC speedup over the per-box path')})`],
    ['REC max relative diff', `${r.rec.max_rel_diff.toExponential(1)}  (limit ${REC_MAX_REL_DIFF.toExponential(0)})`],
    ['encoder busy share', percent(r.encoder_busy_share)],
    ['matmul peak GFLOP/s', fixed(r.matmul_peak_gflops)],
    ['encoder GFLOP/s', `${fixed(r.encoder_gflops)}  (${percent(r.encoder_fraction_of_peak)} of ${r.int8 ? "the fp32 peak: int8's integer kernels can pass it" : 'peak'})`],
    ...(r.int8
      ? ([
          ['int8 / fp32 images/s, batch 1', `${fixed(r.int8.images_per_s.int8)} / ${fixed(r.int8.images_per_s.fp32)} = ${fixed(r.int8.speedup, 2)}×  (${targetText('int8 speedup over fp32')})`],
          ['int8 cosine to fp32 (mean, min)', `${fixed(r.int8.embedding_cosine.mean, 4)}, ${fixed(r.int8.embedding_cosine.min, 4)}`],
          ['int8 REC predictions changed (demo)', `${r.int8.rec_demo.changed} of ${r.int8.rec_demo.predictions} (${percent(r.int8.rec_demo.share)})`],
        ] as [string, string][])
      : []),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const w = r.workload;
  return [
    `falip bench: ${r.model} on ${r.device} (${threads}), ${w.images} images × ${w.boxes} boxes × ${w.sentences} sentences`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ].join('\n');
}
