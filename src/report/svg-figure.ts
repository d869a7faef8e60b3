import sharp from 'sharp';

/** Text for SVG/HTML character data and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One figure in both forms: the SVG (exact, editable) and a PNG of it. */
export interface RenderedFigure {
  svg: string;
  png: Uint8Array;
}

/** The fonts the figures name; librsvg (inside sharp) finds them through fontconfig (DejaVu ships with Debian). */
const FIGURE_FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';

/** Rasterizes an SVG at `zoom` × its own size (2 = sharp on high-density screens), as the sweep plots are. */
export async function renderFigure(svg: string, zoom = 2): Promise<RenderedFigure> {
  const png = await sharp(Buffer.from(svg), { density: 72 * zoom })
    .png()
    .toBuffer();
  return { svg, png: new Uint8Array(png) };
}

/** An SVG document of the given size with a white background. */
export function svgDocument(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FIGURE_FONT}">\n` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>\n${body}\n</svg>\n`
  );
}

/** A number with 3 significant digits, without exponent noise for the ranges figures show. */
export function short(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 100
    ? x.toFixed(0)
    : a >= 1
      ? x.toPrecision(3)
      : a >= 0.001
        ? x.toFixed(Math.min(6, 2 - Math.floor(Math.log10(a))))
        : x.toExponential(1);
}

/** Breaks a label into lines of at most `width` characters at spaces. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
