/**
 * Issue 17, the evaluation side of the data lifecycle: numbers are only ever recorded for the data
 * their run key names. A dataset replaced while an evaluation runs, a folder that mixes two imports,
 * a manifest line `data check` would refuse, changed h5 files, a report of a re-imported dataset, an
 * error in the middle of a run, an empty manifest, and a β search cut short. In process, on the tiny
 * model and demo sets of a few images.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunReport } from '../../src/analysis/run-report.js';
import { readDatasetInfo } from '../../src/datasets/dataset-info.js';
import { openEncoder, type OpenedEncoder } from '../../src/encoder/open-encoder.js';
import { runTable, type RunTableOptions } from '../../src/experiments/run-table.js';
import { parseTableConfig } from '../../src/experiments/table-config.js';
import { checkClsDataset } from '../../src/tasks/classification/check-cls.js';
import { demoClsGenerator, writeClsDemoSet } from '../../src/tasks/classification/demo-cls.js';
import { importModelNet40 } from '../../src/tasks/pointcloud/importers/modelnet40-import.js';
import { pointcloudTask } from '../../src/tasks/pointcloud/index.js';
import { UserError } from '../../src/util/errors.js';
import { writeDatasetFile } from '../helpers/dataset-files.js';
import { userErrorMessage } from '../helpers/errors.js';
import { writeModelNet } from '../helpers/pointcloud-fixtures.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import { runOptions } from '../helpers/run-options.js';

const dirs = useTempFalipDirs('falip-lifecycle-eval-');
let opened: OpenedEncoder;
let scratch = 0;
/** A fresh folder under the suite's temporary root. */
const fresh = (name: string) => path.join(dirs.root(), `${name}-${scratch++}`);

beforeAll(async () => {
  opened = await openEncoder({ model: (await tinyModel()).dir, device: 'cpu', precision: 'fp32' });
});
afterAll(() => removeTinyModels());

const clsTable = (data = 'demo-cls/val') =>
  parseTableConfig(
    {
      name: 'lifecycle',
      title: 't',
      task: 'classification',
      columns: [{ data, metric: 'top1' }],
      rows: [{ key: 'falip', label: 'FALIP', methods: ['falip'] }],
    },
    () => 'test',
  );

function options(out: string, onProgress: (done: number) => void = () => undefined): RunTableOptions {
  let done = 0;
  return runOptions(opened, out, {
    progress: () => ({
      add(n) {
        done += n;
        onProgress(done);
      },
      stop() {},
    }),
  });
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const byId = (file: string) => new Map(lines(file).map((l) => [JSON.parse(l).id as string, l]));

/** A demo-cls set of `images` images (seed `seed`) as the suite's demo-cls/val, and its folder. */
async function demoCls(seed: number, images = 8, root = process.env.FALIP_DATASETS): Promise<string> {
  return (await writeClsDemoSet(root, { images, seed })).dir;
}

describe('1. a dataset replaced while an evaluation runs', () => {
  it('stops the run before the first record computed after the swap: exit 2, nothing under the old key that is not old data', async () => {
    const dir = await demoCls(1);
    const clean = fresh('clean');
    await runTable(clsTable(), options(clean));
    const other = await demoCls(2, 8, fresh('other-root'));
    const out = fresh('swapped');
    let swapped = false;
    // The swap an import makes (the old folder aside, the new one in), after the second item.
    const run = runTable(
      clsTable(),
      options(out, (done) => {
        if (swapped || done < 2) return;
        swapped = true;
        renameSync(dir, `${dir}.aside`);
        renameSync(other, dir);
      }),
    );
    await userErrorMessage(run, `${dir}: the dataset changed while this run read it`, 'nothing more is recorded');
    const recorded = lines(path.join(out, 'records.jsonl'));
    const size = statSync(path.join(out, 'records.jsonl')).size;
    expect(recorded.length).toBeLessThan(8);
    // Every record in the folder is the record the old data gives.
    const old = byId(path.join(clean, 'records.jsonl'));
    for (const l of recorded) expect(l).toBe(old.get(JSON.parse(l).id));
    expect(JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')).complete).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statSync(path.join(out, 'records.jsonl')).size).toBe(size);
  });

  it('a folder that mixes two imports fails data check and is refused by eval', async () => {
    const dir = await demoCls(3, 6, fresh('mix'));
    const other = await demoCls(4, 6, fresh('mix-other'));
    // What a re-import killed between its renames left: the new manifest beside the old dataset.json.
    writeFileSync(path.join(dir, 'manifest.jsonl'), readFileSync(path.join(other, 'manifest.jsonl')));
    const report = await checkClsDataset(dir);
    expect(report.ok).toBe(false);
    expect(report.errors.join('\n')).toContain('manifest.jsonl: not the file its import wrote');
    const info = await readDatasetInfo(dir);
    await userErrorMessage(
      (await import('../../src/tasks/classification/index.js')).classificationTask.loadSplit(
        'demo-cls/val',
        dir,
        info,
        {
          seed: 0,
        },
        { imageSize: 224, classes: 'all' },
      ),
      'the folder mixes two imports',
    );
  });

  it('an import killed between its two renames: the next import puts the old dataset back first', async () => {
    const dir = await demoCls(5, 6);
    const manifest = readFileSync(path.join(dir, 'manifest.jsonl'));
    // A dead process (pid 4194303) moved the old folder aside and had a staging folder half written.
    renameSync(dir, `${dir}.old-4194303-0badf00d`);
    mkdirSync(`${dir}.tmp-4194303-0badf00d`);
    writeFileSync(path.join(`${dir}.tmp-4194303-0badf00d`, 'manifest.jsonl'), '{"id": "half');
    await demoClsGenerator.ensure();
    expect(readFileSync(path.join(dir, 'manifest.jsonl'))).toEqual(manifest);
    expect(readdirSync(path.dirname(dir)).filter((n) => /^val\.(tmp|old)-/.test(n))).toEqual([]);
  });

  it('two imports of one split at once: one is refused, the folder holds the other whole', async () => {
    const root = fresh('twice');
    const results = await Promise.allSettled([
      writeClsDemoSet(root, { images: 6, seed: 6 }),
      writeClsDemoSet(root, { images: 6, seed: 7 }),
    ]);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    const reason = (refused[0] as PromiseRejectedResult).reason as Error;
    expect(reason).toBeInstanceOf(UserError);
    expect(reason.message).toContain('in use by pid');
    const dir = path.join(root, 'demo-cls', 'val');
    expect((await checkClsDataset(dir)).ok).toBe(true);
  });
});

describe('2. point-cloud run keys cover the h5 files', () => {
  it('an h5 file replaced by another of the same size and labels changes the content hash', async () => {
    const release = fresh('modelnet');
    const files = (clouds: number[]) => ({
      'ply_data_test0.h5': { clouds, labels: [3, 7], labelLayout: 'modelnet' as const },
    });
    await writeModelNet(release, files([0, 1]));
    const { dir, info } = await importModelNet40({ root: release, outRoot: fresh('pc-datasets') });
    const h5 = path.join(release, 'ply_data_test0.h5');
    const before = await pointcloudTask.loadSplit(
      'modelnet40/test',
      dir,
      info,
      { seed: 0 },
      { imageSize: 224, classes: 'all' },
    );
    const size = statSync(h5).size;
    await writeModelNet(release, files([5, 6]));
    expect(statSync(h5).size).toBe(size);
    const after = await pointcloudTask.loadSplit(
      'modelnet40/test',
      dir,
      info,
      { seed: 0 },
      { imageSize: 224, classes: 'all' },
    );
    expect(after.contentHash).not.toBe(before.contentHash);
  });
});

describe('4. eval checks each manifest line as data check does: file:line: field, exit 2, nothing written', () => {
  /** A copy of a 6-image demo-cls set whose manifest a faulty converter wrote with `edit` applied to line `n`. */
  async function broken(n: number, edit: (line: Record<string, unknown>, all: Record<string, unknown>[]) => void) {
    const root = fresh('broken');
    const dir = await demoCls(8, 6, root);
    const all = lines(path.join(dir, 'manifest.jsonl')).map((l) => JSON.parse(l) as Record<string, unknown>);
    edit(all[n - 1]!, all);
    writeDatasetFile(dir, 'manifest.jsonl', all.map((l) => `${JSON.stringify(l)}\n`).join(''));
    return { root, dir, manifest: path.join(dir, 'manifest.jsonl') };
  }

  async function refused(root: string, ...needles: string[]): Promise<void> {
    const saved = process.env.FALIP_DATASETS;
    process.env.FALIP_DATASETS = root;
    const out = fresh('refused');
    try {
      await userErrorMessage(runTable(clsTable(), options(out)), ...needles);
    } finally {
      process.env.FALIP_DATASETS = saved;
    }
    expect(existsSync(path.join(out, 'records.jsonl'))).toBe(false);
  }

  it.each([
    ['a label out of range', 2, (l: Record<string, unknown>) => (l.label = 99), ':2: label: 99 is out of range'],
    [
      'a box outside the image',
      3,
      (l: Record<string, unknown>) => (l.box = [1000, 1000, 5, 5]),
      ':3: box: box [1000, 1000, 5, 5] lies entirely outside',
    ],
    ['a zero-size box', 4, (l: Record<string, unknown>) => (l.box = [1, 1, 0, 5]), ':4: box: zero-area box'],
    ['a negative box', 5, (l: Record<string, unknown>) => (l.box = [5, 5, -3, 4]), ':5: box: zero-area box'],
    [
      'a duplicate id with another label',
      6,
      (l: Record<string, unknown>, all: Record<string, unknown>[]) => {
        l.id = all[0]!.id;
        l.label = ((all[0]!.label as number) + 1) % 18;
      },
      ':6: id: duplicate id',
    ],
  ])('%s', async (_what, n, edit, needle) => {
    const { root, manifest } = await broken(n, edit);
    await refused(root, `${manifest}${needle}`);
  });

  it('an image replaced by one of another size since the import', async () => {
    const root = fresh('resized');
    const dir = await demoCls(9, 6, root);
    const first = JSON.parse(lines(path.join(dir, 'manifest.jsonl'))[0]!) as { image: string; width: number };
    const image = path.join(dir, 'images', first.image);
    writeFileSync(
      image,
      await sharp(image)
        .resize(first.width + 10)
        .png()
        .toBuffer(),
    );
    await refused(root, `${path.join(dir, 'manifest.jsonl')}:1: width/height: recorded`);
  });
});

describe('empty manifest', () => {
  it('is an error, not a table of "not run" cells', async () => {
    const root = fresh('empty');
    const dir = await demoCls(10, 4, root);
    writeDatasetFile(dir, 'manifest.jsonl', '');
    const saved = process.env.FALIP_DATASETS;
    process.env.FALIP_DATASETS = root;
    try {
      await userErrorMessage(
        runTable(clsTable(), options(fresh('empty-out'))),
        'manifest.jsonl: no images in the manifest',
      );
    } finally {
      process.env.FALIP_DATASETS = saved;
    }
  });
});

describe('6. the report draws examples only from the data the run evaluated', () => {
  it('after a re-import, no example card is drawn from the new data, and the page says why', async () => {
    await demoCls(11, 6);
    const out = fresh('report');
    await runTable(clsTable(), options(out));
    expect('cards' in (await loadRunReport(out, 3)).examples).toBe(true);
    await demoCls(12, 6);
    const { examples } = await loadRunReport(out, 3);
    expect(examples).toEqual({ missing: expect.stringContaining('is not the data this run evaluated') });
  });
});

describe('11. after an error, nothing more is appended', () => {
  it('an image cut short (its header intact) stops the run; no producer appends after the error', async () => {
    const root = fresh('undecodable');
    const dir = await demoCls(13, 16, root);
    const first = JSON.parse(lines(path.join(dir, 'manifest.jsonl'))[0]!) as { image: string };
    const image = path.join(dir, 'images', first.image);
    const bytes = readFileSync(image);
    writeFileSync(image, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const saved = process.env.FALIP_DATASETS;
    process.env.FALIP_DATASETS = root;
    const out = fresh('stopped');
    try {
      await userErrorMessage(runTable(clsTable(), options(out)), 'cannot decode image');
    } finally {
      process.env.FALIP_DATASETS = saved;
    }
    const file = path.join(out, 'records.jsonl');
    const size = existsSync(file) ? statSync(file).size : 0;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(existsSync(file) ? statSync(file).size : 0).toBe(size);
    expect(lines(file).length).toBeLessThan(15);
  });
});

describe("16. --view-weights search keeps each cloud's view scores as they come", () => {
  it('a run cut short resumes from them, and ends with the records of an uninterrupted run', async () => {
    const release = fresh('search-release');
    await writeModelNet(release, {
      'ply_data_test0.h5': { clouds: [0, 1, 2, 3, 4], labels: [0, 15, 39, 7, 2], labelLayout: 'modelnet' },
    });
    const root = fresh('search-datasets');
    await importModelNet40({ root: release, outRoot: root });
    const saved = process.env.FALIP_DATASETS;
    process.env.FALIP_DATASETS = root;
    const table = parseTableConfig(
      {
        name: 'search',
        title: 't',
        task: 'pointcloud',
        columns: ['modelnet40/test'],
        rows: [{ key: 'beta', label: 'β searched', methods: ['falip'], view_weights: 'search' }],
      },
      () => 'test',
    );
    try {
      const whole = fresh('search-whole');
      const start = opened.encoder.stats().batches;
      await runTable(table, options(whole));
      const wholeBatches = opened.encoder.stats().batches - start;
      const out = fresh('search-cut');
      let calls = 0;
      // Cut the run short as a kill would, while its third cloud starts.
      const cut = runTable(
        table,
        options(out, () => {
          if (++calls === 3) throw new Error('killed');
        }),
      );
      await expect(cut).rejects.toThrow('killed');
      const kept = lines(path.join(out, 'intermediate.jsonl'));
      expect(kept.length).toBeGreaterThanOrEqual(1);
      expect(lines(path.join(out, 'records.jsonl'))).toEqual([]);
      const before = opened.encoder.stats().batches;
      await runTable(table, options(out));
      // The resumed run encoded only the clouds the first left: fewer batches than a whole run's.
      expect(opened.encoder.stats().batches - before).toBeLessThan(wholeBatches);
      const sorted = (dir: string) => lines(path.join(dir, 'records.jsonl')).sort();
      expect(sorted(out)).toEqual(sorted(whole));
      expect(lines(path.join(out, 'intermediate.jsonl'))).toHaveLength(5);
    } finally {
      process.env.FALIP_DATASETS = saved;
    }
  });
});
