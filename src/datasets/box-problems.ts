import { boxArea, clampedCorners, type BoxXYWH } from '../image/box.js';
import { UserError } from '../util/errors.js';

export interface ImageSize {
  width: number;
  height: number;
}

export interface BoxProblem {
  /** `error`: no prompt can show the box. `warning`: partly outside, which every method clamps. */
  severity: 'error' | 'warning';
  text: string;
}

function formatBox(b: BoxXYWH): string {
  return `[${b.join(', ')}]`;
}

/**
 * What is wrong with a box on an image of `size`, if anything: the same rules for import, `data check`
 * and eval. A zero-area box is an error unless `zeroArea` says otherwise: REC keeps zero-area gold boxes
 * (as the reference, which never lets them compete) so that gold indices keep matching the source.
 */
export function boxProblem(
  b: BoxXYWH,
  { width, height }: ImageSize,
  zeroArea: BoxProblem['severity'] = 'error',
): BoxProblem | undefined {
  if (!b.every(Number.isFinite)) return { severity: 'error', text: `box ${formatBox(b)} is not finite` };
  if (boxArea(b) === 0) return { severity: zeroArea, text: `zero-area box ${formatBox(b)}` };
  const [l, t, r, bt] = clampedCorners(b, width, height);
  if (r <= l || bt <= t)
    return { severity: 'error', text: `box ${formatBox(b)} lies entirely outside the ${width}×${height} image` };
  if (b[0] < 0 || b[1] < 0 || b[0] + b[2] > width || b[1] + b[3] > height) {
    return { severity: 'warning', text: `box ${formatBox(b)} extends outside the ${width}×${height} image` };
  }
  return undefined;
}

/** The box cut to the image. */
function clampBox(b: BoxXYWH, { width, height }: ImageSize): BoxXYWH {
  const [l, t, r, bt] = clampedCorners(b, width, height);
  return [l, t, r - l, bt - t];
}

/**
 * The box an importer stores: an unusable box stops the import (`where: field: problem`); one
 * partly outside is clamped to the image, with a warning, so the manifest holds only boxes inside.
 */
export function boxForManifest(b: BoxXYWH, size: ImageSize, where: string, field: string, warnings: string[]): BoxXYWH {
  const problem = boxProblem(b, size);
  if (problem?.severity === 'error') throw new UserError(`${where}: ${field}: ${problem.text}`);
  if (!problem) return b;
  const clamped = clampBox(b, size);
  warnings.push(`${where}: ${field}: ${problem.text}; clamped to ${formatBox(clamped)}`);
  return clamped;
}
