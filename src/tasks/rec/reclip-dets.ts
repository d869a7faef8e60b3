import { readTextFile } from '../../util/text-file.js';
import { z } from 'zod';
import type { BoxXYWH } from '../../image/box.js';
import { UserError } from '../../util/errors.js';
import { parseJsonLine, parseWith } from '../../util/schema-check.js';

/** Detector boxes per image id (ids compared as integers, as ReCLIP's `int(image_id)` does). */
export type DetectionsByImage = ReadonlyMap<number, readonly BoxXYWH[]>;

/** ReCLIP reads `Box(x=b[0], y=b[1], w=b[2], h=b[3])`; anything after (a score, a class) is ignored. */
const detectionBox = z
  .array(z.unknown())
  .refine(
    (b) => b.length >= 4 && b.slice(0, 4).every((v) => typeof v === 'number' && Number.isFinite(v)),
    'expected [x, y, w, h, ...] starting with 4 numbers',
  )
  .transform((b): BoxXYWH => [b[0] as number, b[1] as number, b[2] as number, b[3] as number]);

const imageIdSchema = z.union([z.number(), z.string()]);

/** RefCOCO/+/g `*_dets_dict.json`: `{ "<image_id>": [box, ...] }`. */
const dictForm = z.record(z.string(), z.array(detectionBox));
/** RefGTA's form: `[{ image_id, box }, ...]`, grouped by image here. */
const listForm = z.array(z.object({ image_id: imageIdSchema, box: detectionBox }));

export async function readDetections(path: string): Promise<DetectionsByImage> {
  const json = parseJsonLine(await readTextFile(path), path);
  const byImage = new Map<number, BoxXYWH[]>();
  const add = (rawId: number | string, where: string, boxes: readonly BoxXYWH[]): void => {
    const id = integerImageId(rawId, where);
    byImage.set(id, [...(byImage.get(id) ?? []), ...boxes]);
  };
  if (Array.isArray(json)) {
    parseWith(listForm, json, path).forEach((d, i) => {
      add(d.image_id, `${path}: [${i}].image_id`, [d.box]);
    });
  } else {
    for (const [key, boxes] of Object.entries(parseWith(dictForm, json, path)))
      add(key, `${path}: key "${key}"`, boxes);
  }
  return byImage;
}

/** Python's `int()` on an id: integers, or strings holding one (surrounding spaces and leading zeros allowed). */
export function integerImageId(id: number | string, where: string): number {
  const n = typeof id === 'number' ? id : /^\s*[+-]?\d+\s*$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(n)) throw new UserError(`${where}: image id ${JSON.stringify(id)} is not an integer`);
  return n;
}
