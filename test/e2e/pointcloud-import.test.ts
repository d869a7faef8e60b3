/**
 * The point-cloud importers and reader on h5 files written here by h5wasm in the releases' layouts:
 * a ModelNet40 folder (two ply_data_test*.h5 with label [n, 1], test_files.txt with the release's
 * `data/modelnet40_ply_hdf5_2048/...` paths, shape_names.txt) and a ScanObjectNN file (label [n], mask).
 * Bad input must be a one-line UserError naming the file; two cases go through the real CLI.
 */
import { copyFile, mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDatasetInfo } from '../../src/datasets/dataset-info.js';
import { CloudFile, CloudFileCache, POINTS_PER_CLOUD } from '../../src/tasks/pointcloud/h5-clouds.js';
import { checkPcDataset } from '../../src/tasks/pointcloud/check-pc.js';
import { importModelNet40 } from '../../src/tasks/pointcloud/importers/modelnet40-import.js';
import { loadCloud, readPcClasses, readPcManifest } from '../../src/tasks/pointcloud/pc-manifest.js';
import { importScanObjectNN, SCANOBJECTNN_CLASSES } from '../../src/tasks/pointcloud/importers/scanobjectnn-import.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { expectUserError, runFalip, type CliResult } from '../helpers/cli.js';
import { userErrorMessage } from '../helpers/errors.js';
import {
  cloudPoints,
  MODELNET40_NAMES,
  STORED_POINTS,
  writeH5,
  writeModelNet,
  type H5Fixture,
} from '../helpers/pointcloud-fixtures.js';
import { writeDatasetFile } from '../helpers/dataset-files.js';

const dirs = useTempFalipDirs('falip-pointcloud-');
let work: string;
let modelnet: string;

const goodModelNet = (): Record<string, H5Fixture> => ({
  'ply_data_test0.h5': { clouds: [0, 1, 2], labels: [0, 15, 39], labelLayout: 'modelnet' },
  'ply_data_test1.h5': { clouds: [3, 4], labels: [23, 7], labelLayout: 'modelnet' },
});

const falip = (...args: string[]): Promise<CliResult> => runFalip(args);

beforeAll(async () => {
  work = join(dirs.root(), 'work');
  modelnet = await writeModelNet(join(work, 'modelnet40_ply_hdf5_2048'), goodModelNet());
});

describe('importModelNet40', () => {
  it('writes one manifest line per test cloud, pointing into the h5 files, with classes and dataset.json', async () => {
    const report = await importModelNet40({ root: modelnet });
    expect(report.dir).toBe(join(dirs.root(), 'datasets', 'modelnet40', 'test'));
    const manifest = await readPcManifest(join(report.dir, 'manifest.jsonl'));
    const file0 = join(modelnet, 'ply_data_test0.h5');
    const file1 = join(modelnet, 'ply_data_test1.h5');
    expect(manifest).toEqual([
      { id: 'ply_data_test0/0', source: file0, index: 0, label: 0 },
      { id: 'ply_data_test0/1', source: file0, index: 1, label: 15 },
      { id: 'ply_data_test0/2', source: file0, index: 2, label: 39 },
      { id: 'ply_data_test1/0', source: file1, index: 0, label: 23 },
      { id: 'ply_data_test1/1', source: file1, index: 1, label: 7 },
    ]);

    const classes = await readPcClasses(report.dir);
    expect(classes.names).toHaveLength(40);
    expect(classes.raw_names[15]).toBe('flower_pot');
    expect(classes.names[15]).toBe('flower pot');
    expect(classes.names[23]).toBe('night stand');
    expect(classes.template).toBe('point cloud depth map of a {}.');

    const info = await readDatasetInfo(report.dir);
    expect(info).toMatchObject({
      name: 'modelnet40',
      split: 'test',
      task: 'pointcloud',
      counts: { clouds: 5, classes: 40 },
    });
    expect(info.sources.map((s) => s.file)).toEqual([
      file0,
      file1,
      join(modelnet, 'test_files.txt'),
      join(modelnet, 'shape_names.txt'),
    ]);
    for (const s of info.sources) expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.notes[0]).toContain('Table 9 counts 2,468 (differs by -2463)');
    expect(report.warnings).toEqual([]);

    const check = await checkPcDataset(report.dir);
    expect(check).toMatchObject({ ok: true, errors: [], warnings: [], counts: { clouds: 5, classes: 40, files: 2 } });
  });

  it('reads one cloud back: its first 1,024 points in file order and its label', async () => {
    const dir = join(dirs.root(), 'datasets', 'modelnet40', 'test');
    const manifest = await readPcManifest(join(dir, 'manifest.jsonl'));
    const cache = new CloudFileCache();
    try {
      const cloud = await loadCloud(cache, manifest[4]!, 40);
      expect(cloud.label).toBe(7);
      expect(cloud.points).toHaveLength(POINTS_PER_CLOUD * 3);
      expect(Array.from(cloud.points)).toEqual(Array.from(cloudPoints(4).subarray(0, POINTS_PER_CLOUD * 3)));
      // The same file is opened once.
      expect(await cache.open(manifest[3]!.source)).toBe(await cache.open(manifest[4]!.source));
    } finally {
      await cache.closeAll();
    }
  });

  it('accepts plain file names in test_files.txt and ignores NaN beyond the first 1,024 points', async () => {
    const root = join(work, 'plain-names');
    await writeModelNet(root, {
      'ply_data_test0.h5': {
        clouds: [5],
        labels: [2],
        labelLayout: 'modelnet',
        editData: (d) => (d[POINTS_PER_CLOUD * 3 + 1] = NaN),
      },
    });
    await writeFile(join(root, 'test_files.txt'), 'ply_data_test0.h5\n');
    const report = await importModelNet40({ root, outRoot: join(work, 'plain-out') });
    expect(report.info.counts).toEqual({ clouds: 1, classes: 40 });
  });

  describe('refuses bad input with one line naming the file', () => {
    it('a truncated h5 file', async () => {
      const root = await writeModelNet(join(work, 'truncated'), goodModelNet());
      await truncate(join(root, 'ply_data_test1.h5'), 30_000);
      await userErrorMessage(
        importModelNet40({ root, outRoot: join(work, 'out') }),
        join(root, 'ply_data_test1.h5'),
        'truncated HDF5 file: 30000 bytes',
      );
    });

    it('a file that is not HDF5, an empty one and one cut inside its signature', async () => {
      const path = join(work, 'not-h5.h5');
      await writeFile(path, 'this is a text file, not HDF5\n');
      await userErrorMessage(CloudFile.open(path), path, 'not an HDF5 file');
      await writeFile(path, '');
      await userErrorMessage(CloudFile.open(path), 'empty file');
      await writeFile(path, Buffer.from([0x89, 0x48, 0x44]));
      await userErrorMessage(CloudFile.open(path), 'truncated HDF5 file (3 bytes)');
      await userErrorMessage(CloudFile.open(join(work, 'missing.h5')), 'file not found');
    });

    it('a data set of the wrong shape, too few points, a missing label and a label per row missing', async () => {
      const path = join(work, 'shape.h5');
      await writeH5(path, {
        clouds: [0, 1],
        labels: [0, 1],
        labelLayout: 'modelnet',
        dataShape: [2, STORED_POINTS, 2],
      });
      await userErrorMessage(CloudFile.open(path), path, 'data: expected shape [N, P, 3]', 'found [2, 2048, 2]');
      await writeH5(path, { clouds: [0, 1], labels: [0, 1], labelLayout: 'modelnet', dataShape: [2, 512, 3] });
      await userErrorMessage(CloudFile.open(path), 'P ≥ 1024', 'found [2, 512, 3]');
      await writeH5(path, { clouds: [0, 1], labels: [0, 1], labelLayout: 'modelnet', omit: 'label' });
      await userErrorMessage(CloudFile.open(path), 'no dataset "label"', 'data, normal');
      await writeH5(path, { clouds: [0, 1], labels: [0, 1, 2], labelLayout: 'scanobjectnn' });
      await userErrorMessage(CloudFile.open(path), 'label: expected shape [2] or [2, 1]', 'found [3]');
    });

    it('a label outside the class names', async () => {
      const root = await writeModelNet(join(work, 'bad-label'), {
        'ply_data_test0.h5': { clouds: [0, 1], labels: [3, 40], labelLayout: 'modelnet' },
      });
      await userErrorMessage(
        importModelNet40({ root, outRoot: join(work, 'out') }),
        join(root, 'ply_data_test0.h5'),
        'label[1]: 40 is not a class',
        '40 class names',
      );
    });

    it('NaN or infinite points among the first 1,024', async () => {
      const root = await writeModelNet(join(work, 'nan'), {
        'ply_data_test0.h5': {
          clouds: [0, 1],
          labels: [0, 1],
          labelLayout: 'modelnet',
          editData: (d) => (d[STORED_POINTS * 3 + 5 * 3 + 2] = NaN),
        },
      });
      await userErrorMessage(
        importModelNet40({ root, outRoot: join(work, 'out') }),
        join(root, 'ply_data_test0.h5'),
        'data[1]: point 5 is not finite',
        'NaN',
      );
      const file = await CloudFile.open(join(root, 'ply_data_test0.h5'));
      try {
        await userErrorMessage(() => file.cloud(1, 40), 'data[1]: point 5 is not finite');
        expect(file.cloud(0, 40).label).toBe(0);
      } finally {
        file.close();
      }
    });

    it('an index past the end', async () => {
      const file = await CloudFile.open(join(modelnet, 'ply_data_test0.h5'));
      try {
        await userErrorMessage(() => file.cloud(3, 40), 'cloud 3 is past the end', 'holds 3 clouds');
      } finally {
        file.close();
      }
    });

    it('list files that do not match the folder', async () => {
      const root = await writeModelNet(join(work, 'lists'), goodModelNet(), MODELNET40_NAMES.slice(0, 39));
      await userErrorMessage(
        importModelNet40({ root, outRoot: join(work, 'out') }),
        'shape_names.txt: expected 40 class names',
        'found 39',
      );
      await writeFile(
        join(root, 'test_files.txt'),
        'data/modelnet40_ply_hdf5_2048/ply_data_test0.h5\ndata/modelnet40_ply_hdf5_2048/ply_data_test7.h5\n',
      );
      await userErrorMessage(
        importModelNet40({ root, outRoot: join(work, 'out') }),
        'test_files.txt:2: ply_data_test7.h5 not found in',
      );
    });
  });
});

describe('importScanObjectNN', () => {
  it('keeps the first N clouds, records the variant and warns when the folder says otherwise', async () => {
    const folder = join(work, 'h5_files', 'main_split');
    await mkdir(folder, { recursive: true });
    const h5 = join(folder, 'test_objectdataset.h5');
    await writeH5(h5, { clouds: [10, 11, 12, 13, 14, 15], labels: [0, 14, 3, 9, 9, 1], labelLayout: 'scanobjectnn' });
    const report = await importScanObjectNN({ h5, variant: 'obj_only', first: 4 });
    const manifest = await readPcManifest(join(report.dir, 'manifest.jsonl'));
    expect(manifest.map((s) => [s.id, s.index, s.label])).toEqual([
      ['test_objectdataset/0', 0, 0],
      ['test_objectdataset/1', 1, 14],
      ['test_objectdataset/2', 2, 3],
      ['test_objectdataset/3', 3, 9],
    ]);
    expect(report.info).toMatchObject({
      task: 'pointcloud',
      counts: { clouds: 4, classes: 15 },
      options: { variant: 'obj_only', first: 4 },
    });
    expect(report.notes[0]).toContain('the first 4 of 6 clouds');
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toContain('main_split/, the obj_bg folder, but --variant obj_only');
    const classes = await readPcClasses(report.dir);
    expect(classes.names).toEqual([...SCANOBJECTNN_CLASSES]);

    const cache = new CloudFileCache();
    try {
      const cloud = await loadCloud(cache, manifest[1]!, 15);
      expect(Array.from(cloud.points)).toEqual(Array.from(cloudPoints(11).subarray(0, POINTS_PER_CLOUD * 3)));
    } finally {
      await cache.closeAll();
    }
    await userErrorMessage(importScanObjectNN({ h5, variant: 'obj_bg', first: 7 }), '--first 7', 'only 6 clouds');
  });
});

describe('readPcManifest and checkPcDataset', () => {
  it('name the file, line and field of a bad line, and a row that no longer matches its file', async () => {
    const dir = join(work, 'checked');
    await mkdir(dir, { recursive: true });
    for (const f of ['dataset.json', 'classes.json'])
      await copyFile(join(dirs.root(), 'datasets', 'modelnet40', 'test', f), join(dir, f));
    const source = join(modelnet, 'ply_data_test0.h5');
    const lines = [
      { id: 'a', source, index: 0, label: 0 },
      { id: 'b', source, index: -1, label: 0 },
      { id: 'c', source, index: 1, label: 3 },
      { id: 'd', source, index: 9, label: 0 },
    ];
    writeDatasetFile(dir, 'manifest.jsonl', lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const manifest = join(dir, 'manifest.jsonl');
    await userErrorMessage(readPcManifest(manifest), `${manifest}:2: index:`);
    const report = await checkPcDataset(dir);
    expect(report.ok).toBe(false);
    expect(report.errors).toHaveLength(3);
    expect(report.errors[0]).toMatch(new RegExp(`^${manifest}:2: index: `));
    expect(report.errors[1]).toBe(`${manifest}:3: label: 3, but ${source} has 15 at row 1`);
    expect(report.errors[2]).toContain(`${manifest}:4: index: ${source}: cloud 9 is past the end`);
  });
});

// The three runs are independent; running them at once saves most of the CLI's start-up time.
describe.concurrent('the CLI', () => {
  it('`data import modelnet40` on a truncated file exits 2 with one stderr line', async () => {
    const root = await writeModelNet(join(work, 'cli-truncated'), goodModelNet());
    await truncate(join(root, 'ply_data_test0.h5'), 10_000);
    const r = await falip('data', 'import', 'modelnet40', '--root', root, '--out-root', join(work, 'cli-out'));
    expectUserError(r, 'ply_data_test0.h5: cannot open: truncated HDF5 file: 10000 bytes');
    expect(r.stderr).toMatch(/^falip: .*ply_data_test0\.h5: cannot open: truncated HDF5 file: 10000 bytes/);
  });

  it('`data views` writes the six PNGs, views.npy and views.json', async () => {
    const out = join(work, 'views');
    const r = await falip('data', 'views', 'modelnet40', '--index', '1', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect((await readdir(out)).sort()).toEqual([
      'view-0.png',
      'view-1.png',
      'view-2.png',
      'view-3.png',
      'view-4.png',
      'view-5.png',
      'views.json',
      'views.npy',
    ]);
    for (let v = 0; v < 6; v++) {
      const meta = await sharp(join(out, `view-${v}.png`)).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 128, 128, 1]);
    }
    const npy = await readFile(join(out, 'views.npy'));
    expect(npy.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    expect(npy.toString('latin1', 10, 128)).toContain("'shape': (6, 3, 224, 224)");
    expect(npy.length).toBe(128 + 6 * 3 * 224 * 224 * 4);
    const summary = JSON.parse(await readFile(join(out, 'views.json'), 'utf8'));
    expect(summary).toMatchObject({
      dataset: 'modelnet40',
      index: 1,
      id: 'ply_data_test0/1',
      label: 15,
      class: 'flower pot',
    });
    expect(summary.views).toHaveLength(6);
    for (const view of summary.views) {
      expect(view.points_kept).toBeGreaterThan(0);
      expect(view.occupied_pixels).toBeGreaterThan(0);
      expect(view.foreground_box).toHaveLength(4);
    }
    // A folder it wrote is its own: the same command again writes into it.
    const again = await falip('data', 'views', 'modelnet40', '--index', '1', '--out', out);
    expect(again.status, again.stderr).toBe(0);
    expect(await readFile(join(out, 'views.json'), 'utf8')).toBe(`${JSON.stringify(summary, null, 2)}\n`);
  });

  it('`data views` refuses an index past the end and an unknown dataset with one line', async () => {
    const [past, unknown] = await Promise.all([
      falip('data', 'views', 'modelnet40', '--index', '5', '--out', join(work, 'views-past')),
      falip('data', 'views', 'nosuchset', '--index', '0', '--out', join(work, 'views-unknown')),
    ]);
    expectUserError(past);
    expect(past.stderr.trimEnd().split('\n')).toEqual([
      'falip: --index 5: past the end of modelnet40/test (5 clouds, 0..4)',
    ]);
    expectUserError(unknown, 'dataset nosuchset/test is not imported');
    expect(unknown.stderr).toMatch(/^falip: dataset nosuchset\/test is not imported/);
  });
});

it('leaves only the three dataset files behind (atomic writes, no temporary names)', async () => {
  const entries = await readdir(join(dirs.root(), 'datasets', 'modelnet40', 'test'));
  expect(entries.sort()).toEqual(['classes.json', 'dataset.json', 'manifest.jsonl']);
});
