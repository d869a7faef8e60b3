import { colourBarGradient, hex, scaleTint } from './colour-maps.js';
import type { PatchScale } from './patch-figure.js';
import { escapeXml, short, svgDocument, wrapText } from './svg-figure.js';

/** One heatmap of a rows × columns grid of values (layers × heads). */
export interface GridPanel {
  title: string;
  /** rows × columns, row-major. */
  values: ArrayLike<number>;
  scale: PatchScale;
  /** Text drawn in a cell (e.g. a rank), by cell index; absent cells are blank. */
  marks?: ReadonlyMap<number, string>;
}

export interface GridFigureSpec {
  title: string;
  rows: number;
  columns: number;
  /** What rows and columns are, e.g. "layer", "head"; both drawn 1-based. */
  rowName: string;
  columnName: string;
  panels: GridPanel[];
  legend: string[];
}

const CELL = 26;
const MARGIN = 44;
const GAP = 40;
const BAR_W = 56;
const HEADER_H = 64;

/** Cells are opaque: no image under them. */
const TINT_OPACITY = { sequential: 1, signed: 1 };

function panelSvg(spec: GridFigureSpec, panel: GridPanel, index: number, x: number, y: number): string {
  const w = spec.columns * CELL;
  const h = spec.rows * CELL;
  const parts = [
    `<text x="${w / 2}" y="-22" font-size="12" font-weight="bold" text-anchor="middle">${escapeXml(panel.title)}</text>`,
  ];
  for (let c = 0; c < spec.columns; c++)
    parts.push(`<text x="${c * CELL + CELL / 2}" y="-6" font-size="10" text-anchor="middle">${c + 1}</text>`);
  for (let r = 0; r < spec.rows; r++) {
    parts.push(`<text x="-6" y="${r * CELL + CELL / 2 + 4}" font-size="10" text-anchor="end">${r + 1}</text>`);
    for (let c = 0; c < spec.columns; c++) {
      const i = r * spec.columns + c;
      const tint = scaleTint(panel.values[i]!, panel.scale, TINT_OPACITY);
      parts.push(
        `<rect x="${c * CELL}" y="${r * CELL}" width="${CELL}" height="${CELL}" fill="${hex(tint.rgb)}" fill-opacity="${tint.opacity.toFixed(3)}" stroke="#dddddd" stroke-width="0.5"/>`,
      );
      const mark = panel.marks?.get(i);
      if (mark)
        parts.push(
          `<text x="${c * CELL + CELL / 2}" y="${r * CELL + CELL / 2 + 4}" font-size="11" font-weight="bold" text-anchor="middle" fill="#00e5ff" stroke="#000000" stroke-width="2" paint-order="stroke">${escapeXml(mark)}</text>`,
        );
    }
  }
  parts.push(
    `<text x="${w / 2}" y="${h + 16}" font-size="11" text-anchor="middle">${escapeXml(spec.columnName)}</text>`,
  );
  parts.push(
    `<text x="-30" y="${h / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 -30 ${h / 2})">${escapeXml(spec.rowName)}</text>`,
  );
  const lo = panel.scale.kind === 'sequential' ? '0' : short(-panel.scale.max);
  parts.push(
    `<g transform="translate(${w + 10},0)">${colourBarGradient(panel.scale.kind, `g${index}`)}` +
      `<rect width="10" height="${h}" fill="url(#g${index})" stroke="#999999" stroke-width="0.5"/>` +
      `<text x="14" y="9" font-size="10">${short(panel.scale.max)}</text><text x="14" y="${h}" font-size="10">${lo}</text></g>`,
  );
  return `<g transform="translate(${x},${y})">${parts.join('')}</g>`;
}

/** Heatmaps of a layers × heads grid side by side, each with its own colour bar. */
export function gridFigureSvg(spec: GridFigureSpec): string {
  const panelW = spec.columns * CELL + BAR_W;
  const width = MARGIN + spec.panels.length * (panelW + GAP);
  const legendY = HEADER_H + spec.rows * CELL + 40;
  const legend = spec.legend.flatMap((l) => wrapText(l, Math.max(60, Math.floor(width / 6.2))));
  const height = legendY + legend.length * 15 + 10;
  const body = [
    `<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
    ...spec.panels.map((p, i) => panelSvg(spec, p, i, MARGIN + i * (panelW + GAP), HEADER_H)),
    ...legend.map(
      (line, i) => `<text x="12" y="${legendY + i * 15}" font-size="11" fill="#333333">${escapeXml(line)}</text>`,
    ),
  ];
  return svgDocument(width, height, body.join('\n'));
}
