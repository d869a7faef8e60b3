import type { VisionConfig } from '../model/clip-config.js';
import { gridFigureSvg } from '../report/grid-figure.js';
import { renderFigure, type RenderedFigure } from '../report/svg-figure.js';
import type { HeadSensitivityRow } from './head-sensitivity.js';

/** Heads marked with their rank in the figure. */
const MARKED = 5;

const COLUMNS = [
  'rank',
  'layer',
  'head',
  'change',
  'norm_plain',
  'entropy_plain',
  'entropy_prompted',
  'in_box_plain',
  'in_box_prompted',
] as const satisfies readonly (keyof HeadSensitivityRow)[];

/** heads.csv: one line per (layer, head) in rank order; numbers at full precision. */
export function headsCsv(rows: readonly HeadSensitivityRow[]): string {
  return `${[COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => String(r[c])).join(','))].join('\n')}\n`;
}

/** A [L·H] grid (row-major by layer) of one quantity of the rows. */
function grid(
  rows: readonly HeadSensitivityRow[],
  v: VisionConfig,
  value: (r: HeadSensitivityRow) => number,
): Float64Array {
  const out = new Float64Array(v.numLayers * v.numHeads);
  for (const r of rows) out[(r.layer - 1) * v.numHeads + (r.head - 1)] = value(r);
  return out;
}

const maxAbs = (a: Float64Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** The layers × heads heatmaps: the change per head (top 5 marked), and the prompt's effect on two attention statistics. */
export function headsFigure(
  rows: readonly HeadSensitivityRow[],
  v: VisionConfig,
  title: string,
): Promise<RenderedFigure> {
  const change = grid(rows, v, (r) => r.change);
  const inBox = grid(rows, v, (r) => r.in_box_prompted - r.in_box_plain);
  const entropy = grid(rows, v, (r) => r.entropy_prompted - r.entropy_plain);
  const marks = new Map(rows.slice(0, MARKED).map((r) => [(r.layer - 1) * v.numHeads + (r.head - 1), String(r.rank)]));
  const svg = gridFigureSvg({
    title,
    rows: v.numLayers,
    columns: v.numHeads,
    rowName: 'layer',
    columnName: 'head',
    panels: [
      { title: 'mean ‖G′ₕ − Gₕ‖', values: change, scale: { kind: 'sequential', max: maxAbs(change) }, marks },
      { title: 'Δ CLS attention in box', values: inBox, scale: { kind: 'signed', max: maxAbs(inBox) } },
      { title: 'Δ CLS attention entropy', values: entropy, scale: { kind: 'signed', max: maxAbs(entropy) } },
    ],
    legend: [
      `Left: mean norm of the change of each head's CLS contribution (after its slice of the out-projection) between the original and the prompted image; numbers = the top ${MARKED} heads' ranks. Inferno from black (0) to pale yellow (the largest).`,
      "Middle and right: prompted minus original, of the share of the CLS row's attention inside the box and of its entropy (nats); red = the prompt raises it, blue = lowers it.",
    ],
  });
  return renderFigure(svg);
}
