import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { BoxXYWH } from '../../image/box.js';
import { boxProblem } from '../../datasets/box-problems.js';
import { UserError } from '../../util/errors.js';
import type { DatasetInfo } from '../../datasets/dataset-info.js';
import { countRecSamples, type RecSample } from './rec-manifest.js';
import { type DatasetImport, importDataset, writeDatasetFolder } from '../../datasets/dataset-store.js';
import type { DatasetImporter } from '../../datasets/importer.js';
import { relativeImagePath } from '../../datasets/image-path.js';
import { readImageSizes } from '../../datasets/image-headers.js';
import { fileSource } from '../../datasets/source-files.js';
import { integerImageId, readDetections } from './reclip-dets.js';
import { readNonBlankLines } from '../../util/text-file.js';
import { parseJsonLine, parseWith } from '../../util/schema-check.js';

export const RECLIP_DATASETS = ['refcoco', 'refcoco+', 'refcocog'] as const;
export type ReclipDataset = (typeof RECLIP_DATASETS)[number];

export interface ReclipImportOptions {
  dataset: ReclipDataset;
  /** ReCLIP's `<dataset>_<split>.jsonl`: one referred object per line. */
  jsonl: string;
  /** `<dataset>_dets_dict.json` for the "prop" setting; without it the manifest has gold boxes only. */
  dets?: string;
  /** The COCO train2014 folder the jsonl's file names point into. */
  images: string;
  split: string;
  outRoot?: string;
}

export interface ReclipImportResult {
  dir: string;
  info: DatasetInfo;
  /** Kept-but-suspicious input, `file:line: field: problem` (zero-area gold boxes). */
  warnings: string[];
  /** Images whose proposal list is the full-image box because the detector file has none for them. */
  fullImageFallbacks: number;
}

const idSchema = z.union([z.number(), z.string()]);

/** The fields ReCLIP/FALIP read from a line; refer's other keys are ignored. */
const reclipLineSchema = z.object({
  file_name: relativeImagePath,
  image_id: idSchema,
  anns: z.array(z.object({ id: idSchema, bbox: z.array(z.number()).length(4, 'expected 4 numbers') })).min(1),
  ann_id: z.union([idSchema, z.array(idSchema).min(1)]),
  sentences: z.array(z.object({ raw: z.string() })).min(1),
  ref_id: idSchema.optional(),
});
type ReclipLine = z.output<typeof reclipLineSchema>;

interface ParsedLine {
  where: string;
  line: number;
  ref: ReclipLine;
  image: string;
}

export async function importReclip(opts: ReclipImportOptions): Promise<ReclipImportResult> {
  return importDataset(opts.dataset, opts.split, opts.outRoot, (target) => importReclipInto(opts, target));
}

async function importReclipInto(
  opts: ReclipImportOptions,
  { dir, staging }: DatasetImport,
): Promise<ReclipImportResult> {
  const imageRoot = resolve(opts.images);
  if (!(await stat(imageRoot).catch(() => undefined))?.isDirectory())
    throw new UserError(`--images ${opts.images}: not a folder`);
  const detections = opts.dets === undefined ? undefined : await readDetections(opts.dets);

  const parsed: ParsedLine[] = (await readNonBlankLines(opts.jsonl)).map(({ line, where, text }) => {
    const ref = parseWith(reclipLineSchema, parseJsonLine(text, where), where);
    return { where, line, ref, image: reclipImageFile(ref.file_name) };
  });
  if (parsed.length === 0) throw new UserError(`${opts.jsonl}: no refs in the file`);
  const sizes = await readImageSizes(parsed, imageRoot, 'file_name');

  const warnings: string[] = [];
  const seenIds = new Map<string, number>();
  const fallbackImages = new Set<string>();
  const samples = parsed.map(({ where, line, ref, image }): RecSample => {
    const id = String(ref.ref_id ?? line);
    const firstLine = seenIds.get(id);
    if (firstLine !== undefined)
      throw new UserError(`${where}: ref_id: duplicate ref id ${id} (first on line ${firstLine})`);
    seenIds.set(id, line);

    const { width, height } = sizes.get(image)!;
    const gold = ref.anns.map((ann, i) => {
      const box: BoxXYWH = [ann.bbox[0]!, ann.bbox[1]!, ann.bbox[2]!, ann.bbox[3]!];
      reportBox(box, { width, height }, `${where}: anns[${i}].bbox`, warnings);
      return { id: String(ann.id), box };
    });
    const target_ids = (Array.isArray(ref.ann_id) ? ref.ann_id : [ref.ann_id]).map(String);
    for (const t of target_ids) {
      if (!gold.some((g) => g.id === t))
        throw new UserError(`${where}: ann_id: ${t} is not the id of any entry of anns`);
    }
    const sample: RecSample = {
      id,
      image,
      width,
      height,
      sentences: ref.sentences.map((s, i) => ({ id: `${id}:${i}`, text: s.raw })),
      gold,
      target_ids,
    };
    if (detections) {
      const boxes = detections.get(integerImageId(ref.image_id, `${where}: image_id`)) ?? [];
      if (boxes.length === 0) fallbackImages.add(image);
      boxes.forEach((b, i) => {
        reportBox(b, { width, height }, `${opts.dets}: image ${ref.image_id}: [${i}]`, warnings);
      });
      // ReCLIP's fallback: with no detection the only candidate is the whole image.
      sample.proposals = boxes.length > 0 ? [...boxes] : [[0, 0, width, height]];
    }
    return sample;
  });

  const sources = [await fileSource(opts.jsonl), ...(opts.dets === undefined ? [] : [await fileSource(opts.dets)])];
  const info: DatasetInfo = {
    name: opts.dataset,
    split: opts.split,
    task: 'rec',
    image_root: imageRoot,
    sources,
    counts: countRecSamples(samples),
    created_by: `falip data import ${opts.dataset} (ReCLIP jsonl${opts.dets === undefined ? '' : ' + detector file'})`,
  };
  await writeDatasetFolder(staging, samples, info);
  return { dir, info, warnings, fullImageFallbacks: fallbackImages.size };
}

/**
 * A box no prompt can show (entirely outside the image) stops the import; a zero-area box is kept, as
 * the reference keeps it (gold indices keep matching the source's anns, and it never competes), and
 * reported like one partly outside the image, which every prompt clamps.
 */
function reportBox(box: BoxXYWH, size: { width: number; height: number }, where: string, warnings: string[]): void {
  const problem = boxProblem(box, size, 'warning');
  if (problem?.severity === 'error') throw new UserError(`${where}: ${problem.text}`);
  if (problem) warnings.push(`${where}: ${problem.text} (kept)`);
}

/**
 * ReCLIP's file-name rule: refer's COCO names carry the ref id as a last `_` part
 * (`COCO_train2014_000000581857_16.jpg`), which is dropped to get the train2014 image.
 */
export function reclipImageFile(fileName: string): string {
  if (!/coco/i.test(fileName)) return fileName;
  return `${fileName.split('_').slice(0, -1).join('_')}.jpg`;
}

/** `falip data import refcoco|refcoco+|refcocog`: ReCLIP's files for one split. */
export const reclipImporters: readonly DatasetImporter[] = RECLIP_DATASETS.map((dataset) => ({
  name: dataset,
  summary: `import a ${dataset} split from ReCLIP's jsonl (+ optional detector file) into <datasets>/${dataset}/<split>/`,
  options: [
    {
      flags: '--reclip-jsonl <file>',
      help: `ReCLIP's ${dataset}_<split>.jsonl: one referred object per line, with anns, ann_id and sentences`,
      required: true,
    },
    {
      flags: '--dets <file>',
      help: `detector boxes for the prop setting (ReCLIP's ${dataset}_dets_dict.json); without it only the gold setting can run`,
    },
    {
      flags: '--images <dir>',
      help: 'folder holding the COCO train2014 images the jsonl file names point to',
      required: true,
    },
    {
      flags: '--split <name>',
      help: 'split name to store the import under, e.g. val, testA, testB, test',
      required: true,
    },
  ],
  async run(o, outRoot) {
    const result = await importReclip({
      dataset,
      jsonl: o.reclipJsonl!,
      dets: o.dets,
      images: o.images!,
      split: o.split!,
      outRoot,
    });
    const notes =
      result.fullImageFallbacks > 0
        ? [`${result.fullImageFallbacks} image(s) without detections use the full image as their only proposal`]
        : [];
    return { dir: result.dir, info: result.info, notes, warnings: result.warnings };
  },
}));
