import {
  checkManifestLines,
  folderDigestProblems,
  recordUserError,
  recordUserErrorSync,
  throwFirstError,
  type CheckReport,
  type ManifestEntry,
} from '../../datasets/check-report.js';
import { checkImages } from '../../datasets/check-images.js';
import { join } from 'node:path';
import {
  CLASSES_FILE,
  DATASET_INFO_FILE,
  MANIFEST_FILE,
  readDatasetInfo,
  resolveImageRoot,
} from '../../datasets/dataset-info.js';
import { boxProblem } from '../../datasets/box-problems.js';
import { nonBlankLines, readNonBlankLines } from '../../util/text-file.js';
import { parseClasses, parseClsLine, readClasses, type ClsClasses, type ClsSample } from './cls-manifest.js';

export interface ImagesPerClass {
  min: number;
  max: number;
  mean: number;
}

export interface ClsCheckCounts {
  images: number;
  classes: number;
  /** Classes with at least one image (a subset import, or a broken label column, leaves some empty). */
  classes_with_images: number;
  /** Over every class, the empty ones included. */
  images_per_class: ImagesPerClass;
}

export type ClsCheckReport = CheckReport<ClsCheckCounts>;

/**
 * Checks a classification dataset folder against its images and classes.json: every line parses,
 * ids are unique, labels name a class, boxes lie inside, images decode at the recorded size.
 * Every problem is collected, not just the first (the same problems an import refuses).
 */
export async function checkClsDataset(dir: string): Promise<ClsCheckReport> {
  const info = await readDatasetInfo(dir);
  const imageRoot = resolveImageRoot(dir, info);
  const manifest = join(dir, MANIFEST_FILE);
  const errors: string[] = [];
  const warnings: string[] = [];

  errors.push(...(await folderDigestProblems(dir, info)));
  const classes = await recordUserError(errors, () => readClasses(dir));
  const entries = checkManifestLines(await readNonBlankLines(manifest), parseClsLine, 'id', errors, (entry) =>
    checkClsLine(entry, classes, dir, errors, warnings),
  );

  errors.push(...(await checkImages(entries, imageRoot)));
  const samples = entries.map((e) => e.sample);
  const classCount = classes?.names.length ?? 0;
  const recorded = { images: info.counts.images, classes: info.counts.classes };
  const actual = { images: samples.length, classes: classCount };
  // Only meaningful when everything parsed; otherwise the errors already explain the difference.
  if (errors.length === 0 && (recorded.images !== actual.images || recorded.classes !== actual.classes)) {
    warnings.push(
      `${join(dir, DATASET_INFO_FILE)}: counts: recorded ${JSON.stringify(recorded)}, the folder has ${JSON.stringify(actual)}`,
    );
  }
  return { ok: errors.length === 0, errors, warnings, counts: countsOf(samples, classCount) };
}

/** What is wrong with one classification line (label, box), for `data check` and eval alike. */
function checkClsLine(
  { where, sample }: ManifestEntry<ClsSample>,
  classes: ClsClasses | undefined,
  dir: string,
  errors: string[],
  warnings: string[],
): void {
  if (classes && sample.label >= classes.names.length) {
    errors.push(
      `${where}: label: ${sample.label} is out of range (${join(dir, CLASSES_FILE)} has ${classes.names.length} classes)`,
    );
  }
  const problem = boxProblem(sample.box, sample);
  if (problem) (problem.severity === 'error' ? errors : warnings).push(`${where}: box: ${problem.text}`);
}

/**
 * A classification split as evaluation reads it, from the texts of its manifest and classes.json: every
 * line through the checks `data check` runs (schema, unique ids, label in range, a box a prompt can
 * show); the first problem is a one-line UserError naming file:line: field, before anything is scored.
 */
export function checkedClsSplit(
  dir: string,
  texts: { manifest: string; classes: string },
): { entries: ManifestEntry<ClsSample>[]; classes: ClsClasses } {
  const errors: string[] = [];
  const classes = recordUserErrorSync(errors, () => parseClasses(texts.classes, join(dir, CLASSES_FILE)));
  const manifest = join(dir, MANIFEST_FILE);
  const entries = checkManifestLines(nonBlankLines(texts.manifest, manifest), parseClsLine, 'id', errors, (entry) =>
    checkClsLine(entry, classes, dir, errors, []),
  );
  throwFirstError(errors);
  return { entries, classes: classes! };
}

function countsOf(samples: readonly ClsSample[], classCount: number): ClsCheckCounts {
  const perClass = new Array<number>(classCount).fill(0);
  for (const s of samples) if (s.label < classCount) perClass[s.label]!++;
  return {
    images: samples.length,
    classes: classCount,
    classes_with_images: perClass.filter((n) => n > 0).length,
    images_per_class:
      classCount === 0
        ? { min: 0, max: 0, mean: 0 }
        : { min: Math.min(...perClass), max: Math.max(...perClass), mean: samples.length / classCount },
  };
}
