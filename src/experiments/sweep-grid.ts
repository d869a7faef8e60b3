import { FALIP_PARAMS } from '../prompts/falip.js';
import type { MaskForm } from '../prompts/falip-mask.js';
import { defaultOf } from '../prompts/params.js';
import type { AnyTask } from '../tasks/task-definition.js';
import type { SweepDetails } from './run-json.js';
import { parseTableConfig, type RowConfig, type TableConfig } from './table-config.js';

/**
 * The values each FALIP parameter takes in a sweep; the grid is their cartesian product. A layer
 * selection is a 1-based spec as parseLayers reads it ('9-12', '1,3,5-7'); null is FALIP's default,
 * the model's last 4 layers, left to the model because the sweep does not know its depth.
 */
export type SweepAxes = SweepDetails['axes'];

/** One setting of the grid, and the table row that evaluates it. */
export interface SweepPoint {
  key: string;
  label: string;
  alpha: number;
  sigma: number;
  layers: string | null;
  form: MaskForm;
}

/** What the sweep evaluates: every grid point on every split of one dataset, with the task's row options. */
export interface SweepRequest {
  dataset: string;
  splits: string[];
  task: AnyTask;
  /** The task's row options as raw values (REC: `{ setting: 'gold' }`). */
  options: Record<string, unknown>;
  axes: SweepAxes;
}

/** The paper's numbers (percent, by column key) for a grid point under the row options, where it reports them. */
export type PaperNumbersAt = (point: SweepPoint, options: unknown) => RowConfig['paper'];

/** The paper's defaults fill every axis the user left out. */
export const PAPER_DEFAULT_AXES: SweepAxes = {
  alpha: [defaultOf(FALIP_PARAMS.alpha)],
  sigma: [defaultOf(FALIP_PARAMS.sigma)],
  // null: the layer parameter's own default ("last 4"), resolved on the model.
  layers: [null],
  form: [defaultOf(FALIP_PARAMS.form)],
};

/** Spaces never change a layer spec's meaning but would split keys; commas cannot appear in a row key. */
function normalizeLayers(spec: string | null): string | null {
  return spec === null ? null : spec.replace(/\s+/g, '').toLowerCase();
}

/** Repeated values would give duplicate rows; the first occurrence keeps its place. */
function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** The given axes with the paper's default for each one left empty or out, without repeats. */
export function completeAxes(given: Partial<SweepAxes>): SweepAxes {
  const pick = <K extends keyof SweepAxes>(k: K): SweepAxes[K] => (given[k]?.length ? given[k] : PAPER_DEFAULT_AXES[k]);
  return {
    alpha: unique(pick('alpha')),
    sigma: unique(pick('sigma')),
    layers: unique(pick('layers').map(normalizeLayers)),
    form: unique(pick('form')),
  };
}

function pointOf(alpha: number, sigma: number, layers: string | null, form: MaskForm): SweepPoint {
  const layersKey = layers === null ? 'last4' : layers.replaceAll(',', '+');
  return {
    key: `a${alpha}-s${sigma}-l${layersKey}-f${form}`,
    label: `α ${alpha}, σ ${sigma}, layers ${layers ?? 'last 4'}, form ${form}`,
    alpha,
    sigma,
    layers,
    form,
  };
}

/** The cartesian product, alpha varying slowest (the table reads as one block per alpha). */
export function gridPoints(axes: SweepAxes): SweepPoint[] {
  return axes.alpha.flatMap((a) =>
    axes.sigma.flatMap((s) => axes.layers.flatMap((l) => axes.form.map((f) => pointOf(a, s, l, f)))),
  );
}

/** FALIP's reference setting, the baseline that paired comparisons are made against when the grid holds it. */
function isPaperDefault(p: SweepPoint): boolean {
  const d = PAPER_DEFAULT_AXES;
  return p.alpha === d.alpha[0] && p.sigma === d.sigma[0] && p.layers === null && p.form === d.form[0];
}

/** The paper's numbers of the evaluated splits only, so the average column averages the same splits on both sides. */
function paperOfColumns(paper: RowConfig['paper'], columns: readonly string[]): RowConfig['paper'] {
  return Object.fromEntries(columns.filter((c) => c in paper).map((c) => [c, paper[c] ?? null]));
}

/** The whole grid as one table: a row per grid point, a column per split (and their mean when several). */
export function sweepConfig(req: SweepRequest, paperNumbersAt?: PaperNumbersAt): TableConfig {
  const points = gridPoints(req.axes);
  const columns = req.splits.map((s) => `${req.dataset}/${s}`);
  const baseline = points.length > 1 ? points.find(isPaperDefault)?.key : undefined;
  const cfg = parseTableConfig(
    {
      name: `sweep-${req.dataset}`,
      title: `FALIP sweep on ${req.dataset} (${points.length} settings)`,
      task: req.task.name,
      columns,
      rows: points.map((p) => ({
        key: p.key,
        label: p.label,
        ...req.options,
        methods: [
          {
            name: 'falip',
            alpha: p.alpha,
            sigma: p.sigma,
            ...(p.layers !== null && { layers: p.layers }),
            form: p.form,
          },
        ],
      })),
      ...(baseline !== undefined && { baseline }),
      average: columns.length > 1,
    },
    () => 'falip sweep',
  );
  const options = cfg.rows[0]?.options;
  const label = options === undefined ? '' : req.task.describeOptions(options).title;
  return {
    ...cfg,
    title: label ? `FALIP sweep on ${req.dataset} (${label}, ${points.length} settings)` : cfg.title,
    rows: cfg.rows.map((r, i) => ({
      ...r,
      paper: paperNumbersAt ? paperOfColumns(paperNumbersAt(points[i]!, r.options), columns) : {},
    })),
  };
}
