import sharp from 'sharp';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface PlotSeries {
  name: string;
  points: { x: number; y: number }[];
}

export interface LinePlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** Logarithmic x axis, e.g. for sweeps over alpha or sigma spanning decades. */
  logX?: boolean;
  /** The x range shown (the measured values'); points of any series outside it are left out. */
  xDomain?: [number, number];
}

/**
 * Marks for up to 20 series: each gets its own colour (Tableau's 20) and its own point shape (ten, cycled), so
 * two series tell apart in print and for readers who do not see colour; beyond 20 the lines are dashed too.
 */
const SHAPES = [
  'circle',
  'square',
  'triangle-up',
  'diamond',
  'cross',
  'triangle-down',
  'triangle-right',
  'triangle-left',
  'wedge',
  'stroke',
] as const;
const DASHES = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
];
/** Tableau's 20 colours, the ten strong ones first: the first ten series never share a hue. */
const COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#a0cbe8',
  '#ffbe7d',
  '#ff9d9a',
  '#86bcb6',
  '#8cd17d',
  '#f1ce63',
  '#d4a6c8',
  '#fabfd2',
  '#d7b5a6',
  '#79706e',
];

export interface RenderedPlot {
  svg: string;
  png: Uint8Array;
}

/** PNG width in pixels; the SVG (about 520 px wide) is rasterized at a density that keeps its text sharp there. */
const PNG_WIDTH = 1200;
const RASTER_DENSITY = 72 * 3;

/** The series legend: untitled, names never cut. */
const SERIES_LEGEND = { title: null, labelLimit: 0 };

/** Each series's colour and open marker shape, in order, with one legend naming them (line and scatter plots alike). */
function seriesMarks(names: readonly string[]) {
  const byOrder = (range: readonly string[]) => ({
    field: 'series',
    type: 'nominal' as const,
    scale: { domain: [...names], range: names.map((_, i) => range[i % range.length]!) },
    legend: SERIES_LEGEND,
  });
  return { color: byOrder(COLOURS), shape: byOrder(SHAPES) };
}

function vegaLiteSpec(plot: LinePlotSpec): TopLevelSpec {
  const names = plot.series.map((s) => s.name);
  const inside = (x: number) => !plot.xDomain || (x >= plot.xDomain[0] && x <= plot.xDomain[1]);
  const values = plot.series.flatMap((s) =>
    s.points.filter((p) => inside(p.x)).map((p) => ({ series: s.name, x: p.x, y: p.y })),
  );
  // One scale per channel with the caller's series order, so a series keeps its colour, shape and dash in the legend.
  const xScale = {
    ...(plot.logX ? { type: 'log' as const } : { zero: false }),
    ...(plot.xDomain && { domain: plot.xDomain }),
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: plot.title,
    width: 400,
    height: 260,
    background: 'white',
    data: { values },
    // Open markers: where two series meet at a point, both shapes stay visible.
    mark: { type: 'line', point: { filled: false, size: 70, strokeWidth: 2 } },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: plot.xLabel, scale: xScale },
      y: { field: 'y', type: 'quantitative', title: plot.yLabel, scale: { zero: false } },
      ...seriesMarks(names),
      strokeDash: {
        field: 'series',
        type: 'nominal',
        scale: { domain: names, range: names.map((_, i) => DASHES[Math.floor(i / 20) % DASHES.length]!) },
        legend: names.length > 20 ? SERIES_LEGEND : null,
      },
      order: { field: 'x', type: 'quantitative' },
    },
  };
}

/**
 * A line plot (one line per series, a point per measurement) rendered headless: vega-lite compiles
 * the spec, vega's View renders SVG without a canvas, sharp (librsvg) rasterizes it. The same input
 * gives the same SVG; the PNG also depends on the system fonts librsvg finds for the text.
 */
export function linePlot(plot: LinePlotSpec): Promise<RenderedPlot> {
  return render(vegaLiteSpec(plot));
}

/** A vega-lite spec as SVG (vega's headless View) and PNG (sharp's librsvg). */
async function render(spec: TopLevelSpec): Promise<RenderedPlot> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = await sharp(Buffer.from(svg), { density: RASTER_DENSITY })
      .resize({ width: PNG_WIDTH })
      .png()
      .toBuffer();
    return { svg, png: new Uint8Array(png) };
  } finally {
    view.finalize();
  }
}

export interface ScatterPlotSpec {
  title: string;
  /** Names each x category, e.g. 'layer'. */
  xLabel: string;
  yLabel: string;
  /** One dot per point; a series' dots sit side by side with the other series' at each x. */
  series: PlotSeries[];
}

/**
 * Dots per category of x (seed 003's Fig. 5: one dot per head, layers along the axis): x is ordinal,
 * each series gets its own offset within an x's band, colour and open shape, so the heads of a layer
 * spread vertically and the series stay apart. Rendered as `linePlot` is.
 */
export function scatterPlot(plot: ScatterPlotSpec): Promise<RenderedPlot> {
  const names = plot.series.map((s) => s.name);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: plot.title,
    // With xOffset the step is one series's slot within an x band: 12 layers × 4 series ≈ 580 px.
    width: { step: 12 },
    height: 260,
    background: 'white',
    data: { values: plot.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y }))) },
    mark: { type: 'point', filled: false, size: 40, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'ordinal', title: plot.xLabel, axis: { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal', scale: { domain: names } },
      y: { field: 'y', type: 'quantitative', title: plot.yLabel, scale: { zero: false } },
      ...seriesMarks(names),
    },
  };
  return render(spec);
}
