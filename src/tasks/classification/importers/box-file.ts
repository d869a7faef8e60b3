import type { BoxXYWH } from '../../../image/box.js';
import { tableRow } from '../../../datasets/text-files.js';
import { UserError } from '../../../util/errors.js';
import { readNonBlankLines } from '../../../util/text-file.js';

/** One line of a box file: the image it names, its box and the line. */
export interface BoxLine {
  box: BoxXYWH;
  where: string;
}

const COLUMNS = ['image', 'x', 'y', 'w', 'h'];

/**
 * A per-image box file, so any region source (a detector, SAM, hand labels) can give the boxes:
 * one line `<image> x y w h` per image, in the image's stored pixels (x, y the top-left corner).
 * `<image>` is the image's path relative to the dataset's image folder as the split lists it, which
 * is also its manifest id (`accordion/image_0001.jpg`); it is everything before the last four fields,
 * so a path holding spaces needs no quoting. A repeated image is an error naming both lines.
 */
export async function readBoxFile(file: string): Promise<Map<string, BoxLine>> {
  const boxes = new Map<string, BoxLine>();
  for (const { text, where } of await readNonBlankLines(file)) {
    const m = /^(.*\S)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(text.trim());
    if (!m) throw new UserError(`${where}: (line): expected "<image> x y w h"`);
    const row = tableRow(where, COLUMNS, m.slice(1));
    const image = row.text('image');
    const first = boxes.get(image);
    if (first !== undefined) throw new UserError(`${where}: image: ${image} already has a box at ${first.where}`);
    boxes.set(image, { box: [row.number('x'), row.number('y'), row.number('w'), row.number('h')], where });
  }
  if (boxes.size === 0) throw new UserError(`${file}: no boxes`);
  return boxes;
}
