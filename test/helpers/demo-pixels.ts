/**
 * Reading the demo sets' pictures back from their pixels, with the tests' own idea of each colour word,
 * independent of the generator's palette.
 */
export const COLOUR_WORDS: Record<string, [number, number, number]> = {
  red: [255, 0, 0],
  green: [0, 160, 0],
  blue: [0, 0, 255],
  yellow: [255, 220, 0],
  purple: [128, 0, 160],
  orange: [255, 140, 0],
  background: [240, 240, 240],
};

/** A decoded RGB image (3 bytes a pixel, row-major). */
export interface Decoded {
  width: number;
  data: Buffer;
}

/** The colour word nearest (squared RGB distance) to the pixel at (x, y). */
export function colourWordAt(img: Decoded, x: number, y: number): string {
  const i = (Math.floor(y) * img.width + Math.floor(x)) * 3;
  let best = '';
  let bestDist = Infinity;
  for (const [word, [r, g, b]] of Object.entries(COLOUR_WORDS)) {
    const d = (img.data[i]! - r) ** 2 + (img.data[i + 1]! - g) ** 2 + (img.data[i + 2]! - b) ** 2;
    if (d < bestDist) [best, bestDist] = [word, d];
  }
  return best;
}

/** Shape from pixels: a square fills its top-left corner, a triangle only its bottom-left, a circle neither. */
export function shapeAt(img: Decoded, [x, y, , h]: readonly number[]): string {
  if (colourWordAt(img, x! + 3, y! + 3) !== 'background') return 'square';
  if (colourWordAt(img, x! + 3, y! + h! - 4) !== 'background') return 'triangle';
  return 'circle';
}
