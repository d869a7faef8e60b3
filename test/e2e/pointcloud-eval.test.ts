/**
 * 3D recognition end to end: a ModelNet40 release written here, imported, and classified from its six
 * depth views; each record against a naive per-view evaluation computed here; PointCLIP's β search.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CloudFileCache } from '../../src/tasks/pointcloud/h5-clouds.js';
import { importModelNet40 } from '../../src/tasks/pointcloud/importers/modelnet40-import.js';
import { loadCloud, readPcClasses, readPcManifest } from '../../src/tasks/pointcloud/pc-manifest.js';
import { TensorImage } from '../../src/encoder/image-input.js';
import { createEncoder, openEncoder, type OpenedEncoder } from '../../src/encoder/open-encoder.js';
import { runTable } from '../../src/experiments/run-table.js';
import { parseTableConfig } from '../../src/experiments/table-config.js';
import { makeMethod } from '../../src/prompts/method.js';
import type { EvalRecord } from '../../src/report/records.js';
import { cloudViews, VIEW_INPUT_LENGTH, viewPlane } from '../../src/tasks/pointcloud/depth-views.js';
import { foregroundBox } from '../../src/tasks/pointcloud/foreground.js';
import { searchViewWeights, SEARCH_VALUES } from '../../src/tasks/pointcloud/view-weights.js';
import { argmax } from '../../src/tasks/shared/scores.js';
import { UserError } from '../../src/util/errors.js';
import { writeModelNet } from '../helpers/pointcloud-fixtures.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { runOptions } from '../helpers/run-options.js';

const dirs = useTempFalipDirs('falip-pc-eval-');
let opened: OpenedEncoder;
let datasetDir: string;

beforeAll(async () => {
  const release = await writeModelNet(path.join(dirs.root(), 'modelnet40_ply_hdf5_2048'), {
    'ply_data_test0.h5': { clouds: [0, 1, 2], labels: [0, 15, 39], labelLayout: 'modelnet' },
    'ply_data_test1.h5': { clouds: [3], labels: [7], labelLayout: 'modelnet' },
  });
  datasetDir = (await importModelNet40({ root: release, outRoot: process.env.FALIP_DATASETS })).dir;
  opened = await openEncoder({ model: 'tiny', device: 'cpu', precision: 'fp32' });
});

const config = (rows: unknown[]) =>
  parseTableConfig(
    { name: 'pc-test', title: 't', task: 'pointcloud', columns: ['modelnet40/test'], rows },
    () => 'test',
  );

const options = (out: string) => runOptions(opened, out);

const normalized = (v: Float32Array) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
};

describe('point clouds through six depth views', () => {
  it('each record is the argmax of the summed per-view scores of a naive evaluation', async () => {
    const out = path.join(dirs.root(), 'run');
    await runTable(
      config([
        { key: 'plain', label: 'CLIP', methods: ['plain'] },
        { key: 'falip', label: 'FALIP', methods: [{ name: 'falip', alpha: 3 }] },
        { key: 'searched', label: 'FALIP β', methods: [{ name: 'falip', alpha: 3 }], view_weights: 'search' },
      ]),
      options(out),
    );
    const records = (await readFile(path.join(out, 'records.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as EvalRecord & { label: number; view_weights: number[] });
    const samples = await readPcManifest(path.join(datasetDir, 'manifest.jsonl'));
    expect(records).toHaveLength(3 * samples.length);
    const classes = await readPcClasses(datasetDir);
    const v = opened.encoder.config.vision;
    // Naive: a fresh batch-1 encoder without prefix sharing, every view its own request.
    const naive = createEncoder(opened.encoder.graphs, { device: 'cpu', batchSize: 1, prefixSharing: false });
    const text = await Promise.all(
      classes.names.map(async (n) =>
        normalized(await naive.text(opened.tokenizer.encode(`point cloud depth map of a ${n}.`, 77))),
      ),
    );
    const files = new CloudFileCache();
    const perView = new Map<string, Float64Array[]>();
    for (const s of samples) {
      const { clipInput } = cloudViews((await loadCloud(files, s, classes.names.length)).points);
      for (const row of ['plain', 'falip'] as const) {
        const views: Float64Array[] = [];
        for (let view = 0; view < 6; view++) {
          const input = new TensorImage(
            `naive-${s.id}-${view}-${row}`,
            clipInput.subarray(view * VIEW_INPUT_LENGTH, (view + 1) * VIEW_INPUT_LENGTH),
            224,
            224,
          );
          const box = foregroundBox(viewPlane(clipInput, view), 224);
          expect(box, `${s.id} view ${view} has points`).not.toBeNull();
          const request =
            row === 'plain'
              ? {}
              : makeMethod('falip', { alpha: 3 }, v, 't').prepare({ width: 224, height: 224, box: box! });
          const f = normalized(await naive.image(input, request));
          views.push(Float64Array.from(text, (t) => 100 * t.reduce((sum, x, i) => sum + x * f[i]!, 0)));
        }
        perView.set(`${row}|${s.id}`, views);
        const summed = views[0]!.map((_, c) => views.reduce((sum, sc) => sum + sc[c]!, 0));
        const r = records.find((x) => x.row === row && x.id === s.id)!;
        expect(r.pred, `${row} ${s.id}`).toBe(argmax(summed));
        expect(r.label).toBe(s.label);
        expect(r.view_weights).toEqual([1, 1, 1, 1, 1, 1]);
      }
    }
    await files.closeAll();
    // The searched row: one β for the whole split, the best of the grid on these clouds.
    const searched = records.filter((r) => r.row === 'searched');
    const beta = searched[0]!.view_weights;
    for (const r of searched) expect(r.view_weights).toEqual(beta);
    const best = searchViewWeights(
      samples.map((s) => ({ views: perView.get(`falip|${s.id}`)!, label: s.label })),
      6,
    );
    expect(beta).toEqual(best.beta);
    expect(searched.filter((r) => r.correct).length).toBe(best.correct);
  });

  it('refuses prompts that edit pixels: a depth map is not a photo', async () => {
    await expect(
      runTable(config([{ key: 'rc', label: 'RC', methods: ['redcircle'] }]), options(path.join(dirs.root(), 'rc'))),
    ).rejects.toThrow(
      new UserError(
        'modelnet40/test: redcircle edits pixels, and a depth map is not a photo: only prompts that leave the pixels alone (plain, falip, pasta, feature-mask) apply to point clouds',
      ),
    );
  });
});

describe("PointCLIP's view-weight search", () => {
  it('finds the grid point that scores best, the first in grid order on ties', () => {
    // Two clouds of 2 classes: view 5 alone votes right; the others vote wrong, so β weighs view 5 up.
    const cloud = (label: number) => ({
      label,
      views: Array.from({ length: 6 }, (_, v) =>
        Float64Array.from(
          v === 5 ? [label === 0 ? 4 : 0, label === 1 ? 4 : 0] : [label === 0 ? 0 : 1, label === 1 ? 0 : 1],
        ),
      ),
    });
    const { beta, correct } = searchViewWeights([cloud(0), cloud(1)], 6);
    expect(correct).toBe(2);
    // With every β at 0.25 the five wrong views (5 × 0.25 = 1.25) outvote view 5 (0.25 × 4 = 1); view 5 at
    // 0.5 (2) wins: the first grid point in order (the last view varying fastest) with both right.
    expect(beta).toEqual([0.25, 0.25, 0.25, 0.25, 0.25, 0.5]);
    expect(SEARCH_VALUES).toEqual([0.25, 0.5, 0.75, 1]);
  });
});
