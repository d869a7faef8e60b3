import { colourBarGradient, hex, scaleTint, type ScaleKind } from './colour-maps.js';
import { escapeXml, short, svgDocument, wrapText } from './svg-figure.js';

/**
 * How a row of panels colours its values: 'sequential' from 0 to `max` on inferno (attention), 'signed'
 * red for positive and blue for negative with opacity ∝ |value| / `max` (score contributions).
 */
export interface PatchScale {
  kind: ScaleKind;
  /** The value drawn at full colour (the row's largest, so the panels of a row compare directly). */
  max: number;
  /** What the values are, under the colour bar (e.g. "CLS attn", "score"). */
  unit?: string;
}

/** One image with a value per patch drawn over it. */
export interface PatchPanel {
  /** The image as the model saw it (PNG data URI), drawn at the panel's size. */
  image: string;
  /** grid × grid values, row-major (token 1 + row·grid + col). */
  values: ArrayLike<number>;
  /** The region, as fractions of the image's width and height: [x, y, w, h]. */
  box?: readonly [number, number, number, number];
  /** Lines under the panel. */
  caption: string[];
}

export interface PatchRow {
  label: string;
  scale: PatchScale;
  /** One per column. */
  panels: PatchPanel[];
}

export interface PatchFigureSpec {
  title: string;
  /** Column headings (the methods). */
  columns: string[];
  rows: PatchRow[];
  /** Patches per side. */
  grid: number;
  /** Height / width of the shown image. */
  aspect: number;
  /** Lines under the figure saying what the colours mean. */
  legend: string[];
}

const PANEL_W = 180;
const LABEL_W = 150;
const BAR_W = 70;
const GAP = 12;
const CAPTION_LINE = 14;
const HEADER_H = 54;
const LEGEND_LINE = 15;
/** Opacity of the tint at full colour, over the image: inferno lighter, so the image stays readable under the strongest attention. */
const TINT_OPACITY = { sequential: 0.7, signed: 0.85 };
/** The region's outline: cyan stands out against inferno and against the red/blue of signed maps. */
const BOX_COLOUR = '#00e5ff';

function cells(panel: PatchPanel, scale: PatchScale, grid: number, w: number, h: number): string {
  const cw = w / grid;
  const ch = h / grid;
  const out: string[] = [];
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const tint = scaleTint(panel.values[r * grid + c]!, scale, TINT_OPACITY);
      const [fill, opacity] = [hex(tint.rgb), tint.opacity];
      if (opacity === 0) continue;
      out.push(
        `<rect x="${(c * cw).toFixed(2)}" y="${(r * ch).toFixed(2)}" width="${cw.toFixed(2)}" height="${ch.toFixed(2)}" fill="${fill}" fill-opacity="${opacity.toFixed(3)}"/>`,
      );
    }
  }
  return out.join('');
}

function panelSvg(
  panel: PatchPanel,
  scale: PatchScale,
  grid: number,
  x: number,
  y: number,
  w: number,
  h: number,
): string {
  const box = panel.box
    ? `<rect x="${(panel.box[0] * w).toFixed(1)}" y="${(panel.box[1] * h).toFixed(1)}" width="${(panel.box[2] * w).toFixed(1)}" height="${(panel.box[3] * h).toFixed(1)}" fill="none" stroke="${BOX_COLOUR}" stroke-width="2"/>`
    : '';
  return (
    `<g transform="translate(${x},${y})">` +
    `<image x="0" y="0" width="${w}" height="${h}" preserveAspectRatio="none" href="${panel.image}"/>` +
    `<g shape-rendering="crispEdges">${cells(panel, scale, grid, w, h)}</g>${box}` +
    `<rect x="0" y="0" width="${w}" height="${h}" fill="none" stroke="#999999" stroke-width="0.5"/>` +
    panel.caption
      .map(
        (line, i) =>
          `<text x="${w / 2}" y="${h + 13 + i * CAPTION_LINE}" font-size="11" text-anchor="middle" fill="#222222">${escapeXml(line)}</text>`,
      )
      .join('') +
    '</g>'
  );
}

/** A vertical colour bar for one row, with its end values. */
function colourBar(scale: PatchScale, id: string, x: number, y: number, h: number): string {
  const lo = scale.kind === 'sequential' ? '0' : short(-scale.max);
  const mid = scale.kind === 'signed' ? `<text x="16" y="${h / 2 + 4}" font-size="10">0</text>` : '';
  return (
    `<g transform="translate(${x},${y})">${colourBarGradient(scale.kind, id)}` +
    `<rect x="0" y="0" width="10" height="${h}" fill="url(#${id})" stroke="#999999" stroke-width="0.5"/>` +
    `<text x="16" y="9" font-size="10">${short(scale.max)}</text>${mid}<text x="16" y="${h}" font-size="10">${lo}</text>` +
    `<text x="16" y="${h + 13}" font-size="9" fill="#555555">${escapeXml(scale.unit ?? '')}</text></g>`
  );
}

/**
 * A grid of image panels (rows × columns) with a value per patch drawn over each image and the region
 * outlined: methods side by side, layers or heads down. Each row has one colour scale, shown on its right.
 */
export function patchFigureSvg(spec: PatchFigureSpec): string {
  const w = PANEL_W;
  const h = Math.round(PANEL_W * Math.min(2.5, Math.max(0.4, spec.aspect)));
  const captionLines = Math.max(1, ...spec.rows.flatMap((r) => r.panels.map((p) => p.caption.length)));
  const rowH = h + 4 + captionLines * CAPTION_LINE + GAP;
  const width = LABEL_W + spec.columns.length * (w + GAP) + BAR_W;
  const legendLines = spec.legend.flatMap((l) => wrapText(l, Math.floor(width / 6.2)));
  const height = HEADER_H + spec.rows.length * rowH + legendLines.length * LEGEND_LINE + GAP;
  const parts: string[] = [`<text x="${GAP}" y="22" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`];
  spec.columns.forEach((name, c) => {
    parts.push(
      `<text x="${LABEL_W + c * (w + GAP) + w / 2}" y="${HEADER_H - 8}" font-size="13" font-weight="bold" text-anchor="middle">${escapeXml(name)}</text>`,
    );
  });
  spec.rows.forEach((row, r) => {
    const y = HEADER_H + r * rowH;
    wrapText(row.label, 22).forEach((line, i) => {
      parts.push(`<text x="${GAP}" y="${y + 16 + i * 15}" font-size="12">${escapeXml(line)}</text>`);
    });
    row.panels.forEach((panel, c) => {
      parts.push(panelSvg(panel, row.scale, spec.grid, LABEL_W + c * (w + GAP), y, w, h));
    });
    parts.push(colourBar(row.scale, `bar${r}`, LABEL_W + spec.columns.length * (w + GAP), y, h));
  });
  const legendY = HEADER_H + spec.rows.length * rowH + 4;
  legendLines.forEach((line, i) => {
    parts.push(
      `<text x="${GAP}" y="${legendY + i * LEGEND_LINE}" font-size="11" fill="#333333">${escapeXml(line)}</text>`,
    );
  });
  return svgDocument(width, height, parts.join('\n'));
}
