import type { Metric } from '../../report/metrics.js';
import type { EvalRecord } from '../../report/records.js';

/** A classification record's own fields. */
export interface ClsRecordFields {
  label: number;
  /** The 5 best classes, best first. */
  top5: number[];
  /** Waterbirds: the bird's class and the background's (0 land, 1 water). */
  group?: { y: number; place: number };
}

const fields = (r: EvalRecord) => r as EvalRecord & ClsRecordFields;
const inTop5 = (r: EvalRecord): boolean => fields(r).top5.includes(fields(r).label);

/** Mean over classes of each class's mean `hit`: every class weighs the same, however many images it has. */
function classMean(records: readonly EvalRecord[], hit: (r: EvalRecord) => boolean): number {
  const perClass = new Map<number, [number, number]>();
  for (const r of records) {
    const c = perClass.get(fields(r).label) ?? [0, 0];
    c[0] += hit(r) ? 1 : 0;
    c[1]++;
    perClass.set(fields(r).label, c);
  }
  let sum = 0;
  for (const [hits, n] of perClass.values()) sum += hits / n;
  return (100 * sum) / perClass.size;
}

/** Top-1 of the records of one (bird, background) group; NaN when the cell has none of it. */
function groupAccuracy(records: readonly EvalRecord[], y: number, place: number): number {
  const g = records.filter((r) => fields(r).group?.y === y && fields(r).group?.place === place);
  return g.length === 0 ? Number.NaN : (100 * g.filter((r) => r.correct).length) / g.length;
}

const GROUPS = [
  { key: 'landbird_land', label: 'landbird on land', y: 0, place: 0 },
  { key: 'landbird_water', label: 'landbird on water', y: 0, place: 1 },
  { key: 'waterbird_land', label: 'waterbird on land', y: 1, place: 0 },
  { key: 'waterbird_water', label: 'waterbird on water', y: 1, place: 1 },
] as const;

/** The classification metrics a table column can name. */
export const CLS_METRICS: Record<string, Metric> = {
  top1: { label: 'Top-1', perItem: (r) => (r.correct ? 100 : 0) },
  top5: { label: 'Top-5', perItem: (r) => (inTop5(r) ? 100 : 0) },
  top1_class_mean: { label: 'Top-1 (mean per class)', ofRecords: (rs) => classMean(rs, (r) => r.correct) },
  top5_class_mean: { label: 'Top-5 (mean per class)', ofRecords: (rs) => classMean(rs, inTop5) },
  worst_group: {
    label: 'worst group',
    ofRecords: (rs) => Math.min(...GROUPS.map((g) => groupAccuracy(rs, g.y, g.place)).filter((a) => !Number.isNaN(a))),
  },
  ...Object.fromEntries(
    GROUPS.map((g) => [
      g.key,
      { label: g.label, ofRecords: (rs: readonly EvalRecord[]) => groupAccuracy(rs, g.y, g.place) } satisfies Metric,
    ]),
  ),
};

export const WATERBIRDS_METRICS = ['top1', 'worst_group', ...GROUPS.map((g) => g.key)];
