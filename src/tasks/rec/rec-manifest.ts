import { z } from 'zod';
import type { DatasetCounts } from '../../datasets/dataset-info.js';
import type { BoxXYWH } from '../../image/box.js';
import { relativeImagePath } from '../../datasets/image-path.js';
import { boxSchema } from '../../datasets/manifest-fields.js';
import { readNonBlankLines } from '../../util/text-file.js';
import { parseJsonLine, parseWith } from '../../util/schema-check.js';

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

/** Every box of a sample with its manifest field (`gold[i].box`, `proposals[i]`), for checks that name the field. */
export function sampleBoxes(sample: RecSample): (readonly [field: string, box: BoxXYWH])[] {
  return [
    ...sample.gold.map((g, i) => [`gold[${i}].box`, g.box] as const),
    ...(sample.proposals ?? []).map((b, i) => [`proposals[${i}]`, b] as const),
  ];
}

/** The gold entries that are the referred object. */
export function targetsOf(sample: RecSample): RecSample['gold'] {
  return sample.gold.filter((g) => sample.target_ids.includes(g.id));
}

/**
 * One ref per image (the first): every ref of an image carries the same gold and proposal lists,
 * so per-image quantities are read from it.
 */
export function firstRefOfEachImage(samples: readonly RecSample[]): RecSample[] {
  const first = new Map<string, RecSample>();
  for (const s of samples) if (!first.has(s.image)) first.set(s.image, s);
  return [...first.values()];
}

/** Counts for dataset.json; gold boxes and proposals are counted once per image. */
export function countRecSamples(samples: readonly RecSample[]): DatasetCounts {
  const perImage = firstRefOfEachImage(samples);
  const counts: DatasetCounts = {
    refs: samples.length,
    sentences: samples.reduce((n, s) => n + s.sentences.length, 0),
    images: perImage.length,
    gold_boxes: perImage.reduce((n, s) => n + s.gold.length, 0),
  };
  if (samples.some((s) => s.proposals)) counts.proposals = perImage.reduce((n, s) => n + (s.proposals?.length ?? 0), 0);
  return counts;
}
