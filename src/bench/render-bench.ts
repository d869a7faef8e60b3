import type { BenchReport } from './bench-report.js';

/** A speed goal of the encoder; `falip bench --check` fails when a measurement misses one. */
export interface BenchTarget {
  /** As the missed-target error names it. */
  name: string;
  /** As `targetsHelp` (the `--check` help) names it. */
  short: string;
  /** The measured value, or undefined when this run did not measure it. */
  value: (r: BenchReport) => number | undefined;
  atMost?: number;
  atLeast?: number;
}

export const FALIP_OVER_PLAIN_TARGET: BenchTarget = {
  name: 'FALIP / plain time',
  short: 'FALIP/plain',
  value: (r) => r.falip_over_plain,
  atMost: 1.05,
};
export const REC_SPEEDUP_TARGET: BenchTarget = {
  name: 'REC speedup over the per-box path',
  short: 'REC speedup',
  value: (r) => r.rec.speedup,
  atLeast: 8.5,
};
export const INT8_SPEEDUP_TARGET: BenchTarget = {
  name: 'int8 speedup over fp32',
  short: 'int8 speedup',
  value: (r) => r.int8?.speedup,
  atLeast: 2,
};

export const BENCH_TARGETS: readonly BenchTarget[] = [FALIP_OVER_PLAIN_TARGET, REC_SPEEDUP_TARGET, INT8_SPEEDUP_TARGET];

function misses(t: BenchTarget, v: number): boolean {
  return (t.atMost !== undefined && v > t.atMost) || (t.atLeast !== undefined && v < t.atLeast);
}

/** The targets this report misses, as lines for an error. */
export function missedTargets(r: BenchReport): string[] {
  return BENCH_TARGETS.flatMap((t) => {
    const v = t.value(r);
    if (v === undefined || !misses(t, v)) return [];
    return [
      t.atMost !== undefined ? `${t.name} ${v.toFixed(3)} > ${t.atMost}` : `${t.name} ${v.toFixed(2)} < ${t.atLeast}`,
    ];
  });
}

/** `≤ 1.05` or `≥ 8.5`. */
const bound = (t: BenchTarget): string => (t.atMost !== undefined ? `≤ ${t.atMost}` : `≥ ${t.atLeast}`);

/** `target ≤ 1.05 ✓`, or `✗` when this report misses it (with or without --check). */
const targetText = (t: BenchTarget, r: BenchReport): string => {
  const v = t.value(r);
  return `target ${bound(t)} ${v !== undefined && misses(t, v) ? '✗ missed' : '✓'}`;
};

/** Every target for the `--check` help: `FALIP/plain ≤ 1.05, REC speedup ≥ 8.5, int8 speedup ≥ 2`. */
export function targetsHelp(): string {
  return BENCH_TARGETS.map((t) => `${t.short} ${bound(t)}`).join(', ');
}

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
    [`FALIP / plain time, batch ${N}`, `${fixed(r.falip_over_plain, 3)}  (${targetText(FALIP_OVER_PLAIN_TARGET, r)})`],
    ['REC naive, box·sentence/s', fixed(r.rec.naive_per_s)],
    ['REC falip, box·sentence/s', fixed(r.rec.falip_per_s)],
    ['REC speedup', `${fixed(r.rec.speedup, 2)}×  (${targetText(REC_SPEEDUP_TARGET, r)})`],
    [
      'REC max relative diff',
      // In int8 the two paths quantize different activations (bench does not check them against the limit).
      `${r.rec.max_rel_diff.toExponential(1)}  (${r.int8 ? 'int8: no limit, the paths quantize different activations' : `limit ${REC_MAX_REL_DIFF.toExponential(0)}`})`,
    ],
    ['encoder busy share', percent(r.encoder_busy_share)],
    ['matmul peak GFLOP/s', fixed(r.matmul_peak_gflops)],
    [
      'encoder GFLOP/s',
      `${fixed(r.encoder_gflops)}  (${percent(r.encoder_fraction_of_peak)} of ${r.int8 ? "the fp32 peak: int8's integer kernels can pass it" : 'peak'})`,
    ],
    ...(r.int8
      ? ([
          [
            `int8 (batch ${r.int8.batch_size.int8}) / fp32 (batch ${r.int8.batch_size.fp32}) images/s`,
            `${fixed(r.int8.images_per_s.int8)} / ${fixed(r.int8.images_per_s.fp32)} = ${fixed(r.int8.speedup, 2)}×  (${targetText(INT8_SPEEDUP_TARGET, r)})`,
          ],
          [
            // As 1 − cos: the cosines themselves round to 1.0000, yet differences of 1e-6 flip REC answers (README).
            `int8 (batch ${r.int8.batch_size.int8}) 1 − cosine to fp32 (batch ${r.int8.batch_size.fp32}), mean and max`,
            `${(1 - r.int8.embedding_cosine.mean).toExponential(1)}, ${(1 - r.int8.embedding_cosine.min).toExponential(1)}`,
          ],
          [
            `int8 (batch ${r.int8.batch_size.int8}) REC predictions changed from fp32's (demo)`,
            `${r.int8.rec_demo.changed} of ${r.int8.rec_demo.predictions} (${percent(r.int8.rec_demo.share)})`,
          ],
        ] as [string, string][])
      : []),
    ...(r.prompted
      ? ([
          [
            `prompted (${r.prompted.tokens} tokens) / plain images/s, batch ${N}`,
            `${fixed(r.prompted.prompted_images_per_s)} / ${fixed(r.prompted.plain_images_per_s)}`,
          ],
          [`prompted / plain time, batch ${N}`, fixed(r.prompted.prompted_over_plain, 3)],
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
