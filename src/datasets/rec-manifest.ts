import { z } from 'zod';
import type { BoxXYWH } from '../image/box.js';
import { relativeImagePath } from './image-path.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readNonBlankLines } from '../util/text-file.js';
import { parseJsonLine, parseWith } from '../util/schema-check.js';

/** [x, y, w, h] in original-image pixels (COCO/ReCLIP convention, see src/image/box.ts). */
const boxSchema = z
  .array(z.number())
  .length(4, 'expected 4 numbers')
  .transform((b): BoxXYWH => [b[0]!, b[1]!, b[2]!, b[3]!]);

/** One line of a REC manifest: one referred object ("ref") with all its sentences. */
const recSampleSchema = z.object({
  /** The ref id; sentence ids extend it, so it must be unique in the manifest. */
  id: z.string().min(1),
  /** Relative to the dataset's image_root. */
  image: relativeImagePath,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  sentences: z.array(z.object({ id: z.string().min(1), text: z.string() })).min(1),
  /** Every annotated object of the image in the source's `anns` order: the "gold" candidate set. */
  gold: z.array(z.object({ id: z.string(), box: boxSchema })).min(1),
  /** Ids of the gold entries that are the referred object (usually one). */
  target_ids: z.array(z.string()).min(1),
  /** Detector boxes of the image for the "prop" setting; absent when the dataset has none. */
  proposals: z.array(boxSchema).min(1).optional(),
});

export type RecSample = z.output<typeof recSampleSchema>;

/** Parses and validates one manifest line; `where` is `file:line` for the error message. */
export function parseRecLine(text: string, where: string): RecSample {
  return parseWith(recSampleSchema, parseJsonLine(text, where), where);
}

/** Reads a whole manifest; the first invalid line aborts with `<file>:<line>: <field>: <problem>`. */
export async function readRecManifest(path: string): Promise<RecSample[]> {
  return (await readNonBlankLines(path)).map(({ text, where }) => parseRecLine(text, where));
}

export async function writeRecManifest(path: string, samples: readonly RecSample[]): Promise<void> {
  await writeFileAtomic(path, samples.map((s) => JSON.stringify(s) + '\n').join(''));
}
