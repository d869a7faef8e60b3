/**
 * A point-cloud dataset folder: manifest.jsonl (one line per cloud, pointing into the release's own h5
 * files, which are read on demand and never copied), classes.json, and dataset.json.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';
import { parseJsonLine, parseWith } from '../../util/schema-check.js';
import { readNonBlankLines, readTextFile } from '../../util/text-file.js';
import { CLASSES_FILE, type DatasetCounts } from '../../datasets/dataset-info.js';
import { templateSchema } from '../../datasets/manifest-fields.js';
import type { CloudFileCache, LabelledCloud } from './h5-clouds.js';

/** PointCLIP's zero-shot prompt, used for every point-cloud dataset (it has no ScanObjectNN-specific one). */
export const POINTCLOUD_TEMPLATE = 'point cloud depth map of a {}.';

/** One line of a point-cloud manifest: one cloud, as a row of a release h5 file. */
const pcSampleSchema = z.object({
  /** `<h5 file stem>/<row>`, unique in the manifest. */
  id: z.string().min(1),
  /** Absolute path of the h5 file holding the cloud. */
  source: z.string().min(1),
  /** The cloud's row in the file's `data` and `label`. */
  index: z.number().int().nonnegative(),
  /** 0-based index into classes.json `names` (the file's own label). */
  label: z.number().int().nonnegative(),
});

export type PcSample = z.output<typeof pcSampleSchema>;

/** classes.json: the label space and how its prompts are made. */
const pcClassesSchema = z
  .object({
    /** Class names in label order as they go into the template: the release's names with `_` as spaces. */
    names: z.array(z.string().min(1)).min(1),
    /** The release's own names in label order (`flower_pot`, `night_stand`). */
    raw_names: z.array(z.string().min(1)).min(1),
    template: templateSchema,
    /** Where the names came from, for footnotes. */
    names_source: z.string().min(1),
    /** Why this template. */
    template_source: z.string().min(1),
  })
  .refine((c) => c.raw_names.length === c.names.length, {
    path: ['raw_names'],
    message: 'expected one raw name per name',
  });

export type PcClasses = z.output<typeof pcClassesSchema>;

/** The class list as written: prompt names are the raw names with underscores as spaces. */
export function pcClasses(rawNames: readonly string[], namesSource: string): PcClasses {
  return {
    names: rawNames.map((n) => n.replaceAll('_', ' ')),
    raw_names: [...rawNames],
    template: POINTCLOUD_TEMPLATE,
    names_source: namesSource,
    template_source: "PointCLIP's zero-shot prompt (CUSTOM_TEMPLATES), class names with '_' as spaces",
  };
}

export function parsePcLine(text: string, where: string): PcSample {
  return parseWith(pcSampleSchema, parseJsonLine(text, where), where);
}

/** Reads a whole manifest; the first invalid line aborts with `<file>:<line>: <field>: <problem>`. */
export async function readPcManifest(path: string): Promise<PcSample[]> {
  return (await readNonBlankLines(path)).map(({ text, where }) => parsePcLine(text, where));
}

export async function readPcClasses(dir: string): Promise<PcClasses> {
  const path = join(dir, CLASSES_FILE);
  return parsePcClasses(await readTextFile(path), path);
}

/** classes.json's text (read at `path`) through its schema. */
export function parsePcClasses(text: string, path: string): PcClasses {
  return parseWith(pcClassesSchema, parseJsonLine(text, path), path);
}

export function countPcSamples(samples: readonly PcSample[], classes: PcClasses): DatasetCounts {
  return { clouds: samples.length, classes: classes.names.length };
}

/**
 * Reads a manifest line's cloud. The label comes from the file and must still equal the manifest's:
 * a file replaced since the import would otherwise be scored against the wrong classes.
 */
export async function loadCloud(cache: CloudFileCache, sample: PcSample, classCount: number): Promise<LabelledCloud> {
  const cloud = (await cache.open(sample.source)).cloud(sample.index, classCount);
  if (cloud.label !== sample.label) {
    throw new UserError(
      `${sample.source}: label[${sample.index}]: the file says ${cloud.label}, the manifest (cloud ${sample.id}) says ${sample.label}: re-import the dataset`,
    );
  }
  return cloud;
}
