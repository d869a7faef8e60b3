import { checkManifestLines, type CheckReport } from '../../datasets/check-report.js';
import { checkImages } from '../../datasets/check-images.js';
import { join } from 'node:path';
import { boxProblem } from '../../datasets/box-problems.js';
import { DATASET_INFO_FILE, MANIFEST_FILE, readDatasetInfo, resolveImageRoot } from '../../datasets/dataset-info.js';
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

  const entries = await checkManifestLines(manifest, parseRecLine, 'ref id', errors, ({ where, sample }) => {
    const goldIds = new Set(sample.gold.map((g) => g.id));
    for (const t of sample.target_ids) if (!goldIds.has(t)) errors.push(`${where}: target_ids: ${t} is not a gold id`);
    for (const [field, box] of sampleBoxes(sample)) {
      const problem = boxProblem(box, sample, 'warning');
      if (problem) (problem.severity === 'error' ? errors : warnings).push(`${where}: ${field}: ${problem.text}`);
    }
  });

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
