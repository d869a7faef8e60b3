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
}

export interface RenderedPlot {
  svg: string;
  png: Uint8Array;
}

/** PNG width in pixels; the SVG (about 520 px wide) is rasterized at a density that keeps its text sharp there. */
const PNG_WIDTH = 1200;
const RASTER_DENSITY = 72 * 3;

function vegaLiteSpec(plot: LinePlotSpec): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: plot.title,
    width: 400,
    height: 260,
    background: 'white',
    data: { values: plot.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y }))) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: plot.xLabel, scale: plot.logX ? { type: 'log' } : { zero: false } },
      y: { field: 'y', type: 'quantitative', title: plot.yLabel, scale: { zero: false } },
      // The legend keeps the caller's series order instead of sorting names.
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: plot.series.map((s) => s.name) },
        legend: { labelLimit: 0 },
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
export async function linePlot(plot: LinePlotSpec): Promise<RenderedPlot> {
  const view = new View(parse(compile(vegaLiteSpec(plot)).spec), { renderer: 'none' });
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
