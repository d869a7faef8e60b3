import { UserError } from '../util/errors.js';
import { clampedCorners, type BoxXYWH } from './box.js';

/**
 * Rejects boxes no prompt can be built from. A box partly outside the image is accepted: like the
 * reference, every prompt clamps it to the image first.
 * @param where names the input in the message, e.g. "data/refcoco.jsonl:12 box".
 */
export function validateBox(box: BoxXYWH, img: { width: number; height: number }, where: string): void {
  const shown = `[${box.join(',')}]`;
  if (!box.every(Number.isFinite)) throw new UserError(`${where}: box ${shown} has a non-finite coordinate`);
  if (box[2] <= 0 || box[3] <= 0) throw new UserError(`${where}: box ${shown} has zero area`);
  const [l, t, r, b] = clampedCorners(box, img.width, img.height);
  if (l >= r || t >= b) throw new UserError(`${where}: box ${shown} lies outside the ${img.width}x${img.height} image`);
}
