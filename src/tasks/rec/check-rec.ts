import {
  checkManifestLines,
  folderDigestProblems,
  throwFirstError,
  type CheckReport,
  type ManifestEntry,
} from '../../datasets/check-report.js';
import { checkImages } from '../../datasets/check-images.js';
import { join } from 'node:path';
import { boxProblem } from '../../datasets/box-problems.js';
import { DATASET_INFO_FILE, MANIFEST_FILE, readDatasetInfo, resolveImageRoot } from '../../datasets/dataset-info.js';
import { nonBlankLines, readNonBlankLines } from '../../util/text-file.js';
import { countRecSamples, firstRefOfEachImage, parseRecLine, sampleBoxes, type RecSample } from './rec-manifest.js';

export interface PerImageStats {
  mean: number;
  min: number;
  max: number;
}

export interface CheckCounts {
  refs: number;
  sentences: number;
  images: number;
  gold_per_image: PerImageStats;
  /** Absent when the manifest has no proposals (gold setting only). */
  proposals_per_image?: PerImageStats;
}

export type RecCheckReport = CheckReport<CheckCounts>;

/** Checks a REC dataset folder against its images; every problem is collected, not just the first. */
export async function checkRecDataset(dir: string): Promise<RecCheckReport> {
  const info = await readDatasetInfo(dir);
  const imageRoot = resolveImageRoot(dir, info);
  const manifest = join(dir, MANIFEST_FILE);
  const errors: string[] = [];
  const warnings: string[] = [];

  errors.push(...(await folderDigestProblems(dir, info)));
  const entries = checkRecLines(await readNonBlankLines(manifest), errors, warnings);

  errors.push(...(await checkImages(entries, imageRoot)));
  const samples = entries.map((e) => e.sample);
  // Only meaningful when every line parsed; otherwise the skipped lines already explain the difference.
  const actual = countRecSamples(samples);
  if (errors.length === 0 && JSON.stringify(info.counts) !== JSON.stringify(actual)) {
    warnings.push(
      `${join(dir, DATASET_INFO_FILE)}: counts: recorded ${JSON.stringify(info.counts)}, manifest has ${JSON.stringify(actual)}`,
    );
  }
  return { ok: errors.length === 0, errors, warnings, counts: countsOf(samples) };
}

/**
 * Every line of a REC manifest through the checks `data check` and eval share: the schema, unique ref
 * ids and sentence ids (records are keyed by them), targets that are gold boxes, boxes a prompt can
 * show (zero-area ones are kept, as the reference keeps them).
 */
function checkRecLines(
  lines: Parameters<typeof checkManifestLines>[0],
  errors: string[],
  warnings: string[],
): ManifestEntry<RecSample>[] {
  const firstLineOfSentence = new Map<string, string>();
  return checkManifestLines(lines, parseRecLine, 'ref id', errors, ({ where, sample }) => {
    const goldIds = new Set(sample.gold.map((g) => g.id));
    for (const t of sample.target_ids) if (!goldIds.has(t)) errors.push(`${where}: target_ids: ${t} is not a gold id`);
    for (const [i, { id }] of sample.sentences.entries()) {
      const first = firstLineOfSentence.get(id);
      if (first !== undefined)
        errors.push(`${where}: sentences[${i}].id: duplicate sentence id ${id} (first at ${first})`);
      else firstLineOfSentence.set(id, where);
    }
    for (const [field, box] of sampleBoxes(sample)) {
      const problem = boxProblem(box, sample, 'warning');
      if (problem) (problem.severity === 'error' ? errors : warnings).push(`${where}: ${field}: ${problem.text}`);
    }
  });
}

/** A REC split's manifest as evaluation reads it: every line checked as `data check` does, the first problem thrown. */
export function checkedRecSplit(dir: string, manifestText: string): ManifestEntry<RecSample>[] {
  const errors: string[] = [];
  const entries = checkRecLines(nonBlankLines(manifestText, join(dir, MANIFEST_FILE)), errors, []);
  throwFirstError(errors);
  return entries;
}

function countsOf(samples: readonly RecSample[]): CheckCounts {
  const perImage = firstRefOfEachImage(samples);
  const counts: CheckCounts = {
    refs: samples.length,
    sentences: samples.reduce((n, s) => n + s.sentences.length, 0),
    images: perImage.length,
    gold_per_image: stats(perImage.map((s) => s.gold.length)),
  };
  if (perImage.some((s) => s.proposals))
    counts.proposals_per_image = stats(perImage.map((s) => s.proposals?.length ?? 0));
  return counts;
}

function stats(values: readonly number[]): PerImageStats {
  if (values.length === 0) return { mean: 0, min: 0, max: 0 };
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
  };
}
