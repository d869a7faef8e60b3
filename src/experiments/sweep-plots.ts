import path from 'node:path';
import { linePlot, type LinePlotSpec, type PlotSeries } from '../report/plot.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { AVERAGE_COLUMN, type ResultCell, type ResultsTable } from '../report/results-table.js';
import { paperCurve, readPaperSweeps, type PaperSweeps } from './paper-curves.js';
import type { SweepDetails } from './run-json.js';
import { gridPoints, type SweepAxes, type SweepPoint } from './sweep-grid.js';

/** A grid point with its headline accuracy: percent, the mean over the evaluated splits (or the one split). */
export interface MeasuredPoint {
  point: SweepPoint;
  accuracy: number;
}

/** A plot to write as `<file>.svg` and `<file>.png`. */
export interface SweepPlot {
  file: string;
  spec: LinePlotSpec;
}

type SweptParam = 'alpha' | 'sigma';

/** Each curve holds every parameter but the swept one fixed; layers and form only name it when they vary. */
function seriesName(p: SweepPoint, swept: SweptParam, axes: SweepAxes): string {
  const parts = [swept === 'alpha' ? `σ ${p.sigma}` : `α ${p.alpha}`];
  if (axes.layers.length > 1) parts.push(`layers ${p.layers ?? 'last 4'}`);
  if (axes.form.length > 1) parts.push(`form ${p.form}`);
  return parts.join(', ');
}

function curves(measured: readonly MeasuredPoint[], swept: SweptParam, axes: SweepAxes): PlotSeries[] {
  const byName = new Map<string, PlotSeries>();
  for (const m of measured) {
    const name = seriesName(m.point, swept, axes);
    let series = byName.get(name);
    if (!series) {
      series = { name, points: [] };
      byName.set(name, series);
    }
    series.points.push({ x: m.point[swept], y: m.accuracy });
  }
  return mergeCoinciding([...byName.values()]);
}

/**
 * Curves that measured exactly the same numbers would hide one another: they become one curve named after
 * all of them ("σ 100 = σ 300"), so the reader sees that both are there and that they agree.
 */
function mergeCoinciding(series: readonly PlotSeries[]): PlotSeries[] {
  const byPoints = new Map<string, PlotSeries>();
  for (const s of series) {
    const key = JSON.stringify([...s.points].sort((a, b) => a.x - b.x));
    const same = byPoints.get(key);
    if (same) same.name = `${same.name} = ${s.name}`;
    else byPoints.set(key, { name: s.name, points: [...s.points] });
  }
  return [...byPoints.values()];
}

/**
 * Accuracy against α (a curve per σ) and against σ (a curve per α, log axis), each with the paper's
 * curve overlaid (REC: Tables 10 and 11); an axis the grid holds at a single value gets no plot.
 * @param subject what was evaluated, for the titles, e.g. "refcoco (mean of 3 splits)".
 */
export function sweepPlots(
  measured: readonly MeasuredPoint[],
  axes: SweepAxes,
  paper: PaperSweeps | null,
  subject: string,
): SweepPlot[] {
  const plot = (swept: SweptParam, symbol: string, logX: boolean): SweepPlot => {
    // The axis spans what was measured; the paper's curve is clipped to it, and says so when it was.
    const xs = measured.map((m) => m.point[swept]);
    const domain: [number, number] = [Math.min(...xs), Math.max(...xs)];
    const series = curves(measured, swept, axes);
    if (paper) {
      const full = paperCurve(paper[swept]);
      const clipped = full.points.some((p) => p.x < domain[0] || p.x > domain[1]);
      series.push(clipped ? { ...full, name: `${full.name}, clipped to the ${symbol} measured` } : full);
    }
    return {
      file: `accuracy-vs-${swept}`,
      spec: {
        title: `FALIP accuracy vs ${symbol} on ${subject}`,
        xLabel: swept === 'sigma' ? `${symbol} (tokens)` : symbol,
        yLabel: 'accuracy (%)',
        series,
        logX,
        xDomain: domain,
      },
    };
  };
  return [
    ...(axes.alpha.length > 1 ? [plot('alpha', 'α', false)] : []),
    ...(axes.sigma.length > 1 ? [plot('sigma', 'σ', true)] : []),
  ];
}

/** Renders the plots into `dir`; returns the written paths, SVG then PNG per plot. */
export async function writeSweepPlots(dir: string, plots: readonly SweepPlot[]): Promise<string[]> {
  const written: string[] = [];
  for (const { file, spec } of plots) {
    const { svg, png } = await linePlot(spec);
    for (const [ext, data] of [
      ['svg', svg],
      ['png', png],
    ] as const) {
      const target = path.join(dir, `${file}.${ext}`);
      await writeFileAtomic(target, data);
      written.push(target);
    }
  }
  return written;
}

/** A grid point with its headline accuracy (percent); null where a split of its row was not evaluated. */
export interface SweepRowResult extends SweepPoint {
  accuracy: number | null;
  cells: ResultCell[];
}

/** Each row's accuracy over the splits: the average column when there are several, else the one split. */
export function sweepRowResults(points: readonly SweepPoint[], table: ResultsTable): SweepRowResult[] {
  return points.map((point) => {
    const row = table.rows.find((r) => r.key === point.key);
    if (!row) throw new Error(`sweep: table has no row ${point.key}`);
    const headline = row.cells.find((c) => c.column === AVERAGE_COLUMN.key) ?? row.cells[0];
    return { ...point, accuracy: headline?.ours?.value ?? null, cells: row.cells };
  });
}

/** The grid's rows and the plots of a finished sweep, written into its folder. */
export async function writeSweepResults(
  dir: string,
  table: ResultsTable,
  sweep: SweepDetails,
): Promise<{ rows: SweepRowResult[]; plots: string[] }> {
  const rows = sweepRowResults(gridPoints(sweep.axes), table);
  const measured: MeasuredPoint[] = rows.flatMap((r) =>
    r.accuracy === null ? [] : [{ point: r, accuracy: r.accuracy }],
  );
  const paper = sweep.paperCurves ? await readPaperSweeps() : null;
  const plots =
    measured.length === 0 ? [] : await writeSweepPlots(dir, sweepPlots(measured, sweep.axes, paper, sweep.subject));
  return { rows, plots };
}
