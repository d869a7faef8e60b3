/**
 * The part every point-cloud importer shares: read each cloud of the listed h5 files once, check it
 * (label names a class, first 1,024 points finite), and write a manifest that points back into the
 * files, so evaluation never meets a bad cloud and never copies one.
 */
import { basename, extname } from 'node:path';
import { UserError } from '../../../util/errors.js';
import type { DatasetInfo } from '../../../datasets/dataset-info.js';
import { type DatasetImport, importDataset, writeDatasetFolder } from '../../../datasets/dataset-store.js';
import { fileSource } from '../../../datasets/source-files.js';
import type { ImportReport } from '../../../datasets/importer.js';
import { CloudFile, POINTS_PER_CLOUD, requireFinite } from '../h5-clouds.js';
import { countPcSamples, pcClasses, type PcSample } from '../pc-manifest.js';
import { CAMERA_DISTANCE } from '../points.js';

/** Point-cloud datasets have one split: FALIP evaluates on the releases' test files. */
export const POINTCLOUD_SPLIT = 'test';

/** Clouds read per h5 call while checking: large enough to amortize the call, small enough to stay a few MB. */
const CHECK_CHUNK = 64;

export interface CloudImportSpec {
  /** Dataset name (the folder under the datasets root). */
  name: string;
  /** The h5 files, in the order their clouds are numbered. */
  files: readonly string[];
  /** The release's class names in label order. */
  rawNames: readonly string[];
  /** Where the names came from (a file, or "built in" with its origin), for classes.json. */
  namesSource: string;
  /** Further source files to record with their sha256 (list files, class-name files). */
  otherSources: readonly string[];
  /** Keep only the first N clouds, in file order (ScanObjectNN's cut to whole batches). */
  first?: number;
  /** The folder the h5 files are in, recorded as dataset.json's image_root. */
  sourceRoot: string;
  options?: DatasetInfo['options'];
  createdBy: string;
  /** The clouds the FALIP paper's Table 9 counts for this dataset (none for the generated demo set). */
  paperCount?: number;
  outRoot?: string;
}

/** Checks every cloud and writes the dataset folder. */
export async function importClouds(spec: CloudImportSpec): Promise<ImportReport> {
  return importDataset(spec.name, POINTCLOUD_SPLIT, spec.outRoot, (target) => importCloudsInto(spec, target));
}

async function importCloudsInto(spec: CloudImportSpec, { dir, staging }: DatasetImport): Promise<ImportReport> {
  const classCount = spec.rawNames.length;
  const samples: PcSample[] = [];
  const warnings: string[] = [];
  let stored = 0;
  let largestRadius = 0;
  let outsideUnitSphere = 0;
  const stems = new Map<string, string>();

  for (const path of spec.files) {
    const stem = basename(path, extname(path));
    const clash = stems.get(stem);
    if (clash !== undefined)
      throw new UserError(`${path}: same file name as ${clash}: cloud ids (<file name>/<row>) would clash`);
    stems.set(stem, path);

    const file = await CloudFile.open(path);
    try {
      stored += file.count;
      const keep = Math.min(file.count, (spec.first ?? Infinity) - samples.length);
      for (let start = 0; start < keep; start += CHECK_CHUNK) {
        const end = Math.min(start + CHECK_CHUNK, keep);
        const points = file.points(start, end);
        for (let i = start; i < end; i++) {
          const cloud = points.subarray((i - start) * POINTS_PER_CLOUD * 3, (i - start + 1) * POINTS_PER_CLOUD * 3);
          requireFinite(file.path, i, cloud);
          const radius = maxRadius(cloud);
          largestRadius = Math.max(largestRadius, radius);
          // Unit-sphere clouds (the releases are believed to be centred and scaled) sit wholly in front of the camera.
          if (radius > 1) outsideUnitSphere++;
          if (radius >= CAMERA_DISTANCE) {
            warnings.push(
              `${file.path}: data[${i}]: a point lies ${radius.toFixed(3)} from the origin: points that far can fall behind the camera and are dropped from some views`,
            );
          }
          samples.push({ id: `${stem}/${i}`, source: file.path, index: i, label: file.label(i, classCount) });
        }
      }
    } finally {
      file.close();
    }
  }

  if (spec.first !== undefined && spec.first > stored)
    throw new UserError(`--first ${spec.first}: the file(s) hold only ${stored} clouds`);
  const classes = pcClasses(spec.rawNames, spec.namesSource);
  const sources = [];
  for (const file of [...spec.files, ...spec.otherSources]) sources.push(await fileSource(file));
  const info: DatasetInfo = {
    name: spec.name,
    split: POINTCLOUD_SPLIT,
    task: 'pointcloud',
    image_root: spec.sourceRoot,
    sources,
    counts: countPcSamples(samples, classes),
    ...(spec.options ? { options: spec.options } : {}),
    created_by: spec.createdBy,
  };
  await writeDatasetFolder(staging, samples, info, classes);

  const kept =
    spec.first === undefined ? `${samples.length} clouds` : `the first ${samples.length} of ${stored} clouds`;
  const paperCount = spec.paperCount;
  const paper =
    paperCount === undefined
      ? ''
      : samples.length === paperCount
        ? 'matches'
        : `differs by ${samples.length - paperCount}`;
  const notes = [
    paperCount === undefined
      ? kept
      : `${kept}; the FALIP paper's Table 9 counts ${paperCount.toLocaleString('en-US')} (${paper})`,
    `largest point radius ${largestRadius.toFixed(3)}; ${outsideUnitSphere} cloud(s) reach outside the unit sphere`,
  ];
  return { dir, info, notes, warnings };
}

/** The largest distance of a point from the origin (float64). */
function maxRadius(points: Float32Array): number {
  let max = 0;
  for (let i = 0; i < points.length; i += 3)
    max = Math.max(max, Math.hypot(points[i]!, points[i + 1]!, points[i + 2]!));
  return max;
}
