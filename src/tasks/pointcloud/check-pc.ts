/** `falip data check` for a point-cloud folder: every manifest line against its h5 file. */
import {
  checkManifestLines,
  folderDigestProblems,
  recordUserError,
  recordUserErrorSync,
  throwFirstError,
  type CheckReport,
  type ManifestEntry,
} from '../../datasets/check-report.js';
import { join } from 'node:path';
import { UserError } from '../../util/errors.js';
import { sha256OfFile } from '../../util/sha256.js';
import { CLASSES_FILE, DATASET_INFO_FILE, MANIFEST_FILE, readDatasetInfo } from '../../datasets/dataset-info.js';
import { nonBlankLines, readNonBlankLines, type TextLine } from '../../util/text-file.js';
import { CloudFile } from './h5-clouds.js';
import {
  countPcSamples,
  parsePcClasses,
  parsePcLine,
  readPcClasses,
  type PcClasses,
  type PcSample,
} from './pc-manifest.js';

export interface PcCheckCounts {
  clouds: number;
  classes: number;
  /** Distinct h5 files the manifest points into. */
  files: number;
}

export type PcCheckReport = CheckReport<PcCheckCounts>;

/**
 * Checks a point-cloud dataset folder: manifest lines parse, ids are unique, every source file opens
 * with valid datasets, every row exists, holds finite points and carries the manifest's label, and the
 * files still hash as recorded. Every problem is collected, not just the first.
 */
export async function checkPcDataset(dir: string): Promise<PcCheckReport> {
  const info = await readDatasetInfo(dir);
  const errors: string[] = [];
  const warnings: string[] = [];
  if (info.task !== 'pointcloud') throw new UserError(`${dir}: a ${info.task} dataset, not a point-cloud one`);

  errors.push(...(await folderDigestProblems(dir, info)));
  const classes = await recordUserError(errors, () => readPcClasses(dir));
  const entries = checkPcLines(await readNonBlankLines(join(dir, MANIFEST_FILE)), classes, errors);

  const bySource = new Map<string, ManifestEntry<PcSample>[]>();
  for (const e of entries) bySource.set(e.sample.source, [...(bySource.get(e.sample.source) ?? []), e]);
  const recorded = new Map(info.sources.map((s) => [s.file, s.sha256]));
  for (const [source, users] of bySource) {
    errors.push(...checkRows(await openOrProblem(source), users, classes?.names.length));
    const sha = recorded.get(source);
    if (sha === undefined) warnings.push(`${join(dir, DATASET_INFO_FILE)}: sources: ${source} is not recorded`);
    else if ((await sha256OfFile(source).catch(() => sha)) !== sha)
      warnings.push(`${source}: changed since the import (sha256 differs from dataset.json)`);
  }

  const counts: PcCheckCounts = { clouds: entries.length, classes: classes?.names.length ?? 0, files: bySource.size };
  // Only meaningful when every line parsed; otherwise the skipped lines already explain the difference.
  if (errors.length === 0 && classes) {
    const actual = countPcSamples(
      entries.map((e) => e.sample),
      classes,
    );
    if (JSON.stringify(info.counts) !== JSON.stringify(actual)) {
      warnings.push(
        `${join(dir, DATASET_INFO_FILE)}: counts: recorded ${JSON.stringify(info.counts)}, manifest has ${JSON.stringify(actual)}`,
      );
    }
  }
  return { ok: errors.length === 0, errors, warnings, counts };
}

/** Every line of a point-cloud manifest through the checks `data check` and eval share: schema, unique ids, labels in range. */
function checkPcLines(
  lines: readonly TextLine[],
  classes: PcClasses | undefined,
  errors: string[],
): ManifestEntry<PcSample>[] {
  return checkManifestLines(lines, parsePcLine, 'cloud id', errors, ({ where, sample }) => {
    if (classes && sample.label >= classes.names.length)
      errors.push(`${where}: label: ${sample.label} is not a class (${classes.names.length} names)`);
  });
}

/** A point-cloud split as evaluation reads it: every line checked as `data check` does, the first problem thrown. */
export function checkedPcSplit(
  dir: string,
  texts: { manifest: string; classes: string },
): { entries: ManifestEntry<PcSample>[]; classes: PcClasses } {
  const errors: string[] = [];
  const classes = recordUserErrorSync(errors, () => parsePcClasses(texts.classes, join(dir, CLASSES_FILE)));
  const entries = checkPcLines(nonBlankLines(texts.manifest, join(dir, MANIFEST_FILE)), classes, errors);
  throwFirstError(errors);
  return { entries, classes: classes! };
}

async function openOrProblem(source: string): Promise<CloudFile | string> {
  try {
    return await CloudFile.open(source);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return err.message;
  }
}

/** Each line's row against the file: it exists, its points are finite, its label is the manifest's. */
function checkRows(
  file: CloudFile | string,
  users: readonly ManifestEntry<PcSample>[],
  classCount: number | undefined,
): string[] {
  if (typeof file === 'string') return [`${users[0]!.where}: source: ${file}`];
  const errors: string[] = [];
  try {
    for (const { where, sample } of users) {
      try {
        // Without a readable classes.json the file's label is only compared with the manifest's.
        const cloud = file.cloud(sample.index, classCount ?? Number.MAX_SAFE_INTEGER);
        if (cloud.label !== sample.label)
          errors.push(`${where}: label: ${sample.label}, but ${file.path} has ${cloud.label} at row ${sample.index}`);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        errors.push(`${where}: index: ${err.message}`);
      }
    }
  } finally {
    file.close();
  }
  return errors;
}
