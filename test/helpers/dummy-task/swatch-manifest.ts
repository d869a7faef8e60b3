import { z } from 'zod';
import { relativeImagePath } from '../../../src/datasets/image-path.js';
import { parseJsonLine, parseWith } from '../../../src/util/schema-check.js';
import { readNonBlankLines } from '../../../src/util/text-file.js';

/** One swatch image: which colour fills it (an index into the colour names). */
const swatchSchema = z
  .object({
    id: z.string().min(1),
    image: relativeImagePath,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    label: z.number().int().nonnegative(),
  })
  .strict();
export type Swatch = z.output<typeof swatchSchema>;

export const COLOURS = ['red', 'green', 'blue'];

export function parseSwatch(text: string, where: string): Swatch {
  return parseWith(swatchSchema, parseJsonLine(text, where), where);
}

export async function readSwatches(manifest: string): Promise<Swatch[]> {
  return (await readNonBlankLines(manifest)).map(({ text, where }) => parseSwatch(text, where));
}
