import type { BenchReport } from './bench-report.js';

/** The encoder's speed goals, shown beside the measurements (machine-dependent, so not enforced). */
const FALIP_OVER_PLAIN_TARGET = 1.05;
const REC_SPEEDUP_TARGET = 4;

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
    [`FALIP / plain time, batch ${N}`, `${fixed(r.falip_over_plain, 3)}  (target ≤ ${FALIP_OVER_PLAIN_TARGET})`],
    ['REC naive, box·sentence/s', fixed(r.rec.naive_per_s)],
    ['REC falip, box·sentence/s', fixed(r.rec.falip_per_s)],
    ['REC speedup', `${fixed(r.rec.speedup, 2)}×  (target ≥ ${REC_SPEEDUP_TARGET}×)`],
    ['REC max relative diff', `${r.rec.max_rel_diff.toExponential(1)}  (limit ${REC_MAX_REL_DIFF.toExponential(0)})`],
    ['encoder busy share', percent(r.encoder_busy_share)],
    ['matmul peak GFLOP/s', fixed(r.matmul_peak_gflops)],
    ['encoder GFLOP/s', `${fixed(r.encoder_gflops)}  (${percent(r.encoder_fraction_of_peak)} of peak)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const w = r.workload;
  return [
    `falip bench: ${r.model} on ${r.device} (${threads}), ${w.images} images × ${w.boxes} boxes × ${w.sentences} sentences`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ].join('\n');
}
