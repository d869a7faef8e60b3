/**
 * Where a depth view shows the object, for FALIP's mask. Depth maps are 0 wherever no point landed,
 * and bilinear resizing keeps that 0 away from points, so the foreground is exactly the pixels > 0.
 */
import type { BoxXYWH } from '../../image/box.js';

/**
 * The bounding box of the pixels > 0 of a size×size map (row-major), in its own pixels: x = first
 * column, y = first row, w = last column + 1 − x, h = last row + 1 − y. null when nothing is > 0 (an
 * empty view gets no mask).
 */
export function foregroundBox(map: Float32Array, size: number): BoxXYWH | null {
  checkSquare(map, size);
  let minRow = size;
  let maxRow = -1;
  let minCol = size;
  let maxCol = -1;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (!(map[r * size + c]! > 0)) continue;
      if (r < minRow) minRow = r;
      if (r > maxRow) maxRow = r;
      if (c < minCol) minCol = c;
      if (c > maxCol) maxCol = c;
    }
  }
  if (maxRow < 0) return null;
  return [minCol, minRow, maxCol + 1 - minCol, maxRow + 1 - minRow];
}

/**
 * Which patch tokens show foreground: entry row·G + col (G = size/patch) is 1 iff that p×p patch has a
 * pixel > 0. The entry for grid cell (row, col) belongs to vision token 1 + row·G + col (token 0 is CLS).
 */
export function foregroundTokens(map: Float32Array, size: number, patch: number): Uint8Array {
  checkSquare(map, size);
  if (!Number.isInteger(patch) || patch < 1 || size % patch !== 0)
    throw new RangeError(`foregroundTokens: patch ${patch} does not divide ${size}`);
  const grid = size / patch;
  const tokens = new Uint8Array(grid * grid);
  for (let r = 0; r < size; r++) {
    const tokenRow = Math.floor(r / patch) * grid;
    for (let c = 0; c < size; c++) {
      if (map[r * size + c]! > 0) tokens[tokenRow + Math.floor(c / patch)] = 1;
    }
  }
  return tokens;
}

function checkSquare(map: Float32Array, size: number): void {
  if (map.length !== size * size)
    throw new RangeError(`foreground: ${map.length} values are not a ${size}×${size} map`);
}
