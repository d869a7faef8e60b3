import type { Metric } from '../../report/metrics.js';
import type { EvalRecord } from '../../report/records.js';
import { CLASS_METRICS, type ClassRecordFields } from '../shared/class-scores.js';

/** A classification record's own fields. */
export interface ClsRecordFields extends ClassRecordFields {
  /** Waterbirds: the bird's class and the background's (0 land, 1 water). */
  group?: { y: number; place: number };
}

const fields = (r: EvalRecord) => r as EvalRecord & ClsRecordFields;

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
  ...CLASS_METRICS,
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
