/**
 * Classification end to end on the tiny model and the demo-cls set: every record's top-5 and scores
 * against the float64 reference model (image and text towers computed here), resume, and the metrics.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClasses, readClsManifest, type ClsSample } from '../../src/tasks/classification/cls-manifest.js';
import { writeClsDemoSet } from '../../src/tasks/classification/demo-cls.js';
import { openEncoder, type OpenedEncoder } from '../../src/encoder/open-encoder.js';
import { runTable } from '../../src/experiments/run-table.js';
import { parseTableConfig } from '../../src/experiments/table-config.js';
import { loadImage } from '../../src/image/load-image.js';
import { preprocess } from '../../src/image/preprocess.js';
import { makeMethod } from '../../src/prompts/method.js';
import type { EvalRecord } from '../../src/report/records.js';
import { CLS_METRICS } from '../../src/tasks/classification/cls-metrics.js';
import { ranking } from '../../src/tasks/shared/scores.js';
import { textClassifier } from '../../src/tasks/shared/text-classifier.js';
import { TextFeatures } from '../../src/tasks/shared/text-features.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { removeTinyModels, tinyModel, type TinyModel } from '../helpers/tiny-model.js';
import { textForwardRef, visionForwardRef } from '../reference/clip-reference.js';
import { runOptions } from '../helpers/run-options.js';

const dirs = useTempFalipDirs('falip-cls-eval-');
let tiny: TinyModel;
let opened: OpenedEncoder;
let samples: ClsSample[];
let names: string[];
let demoDir: string;

beforeAll(async () => {
  tiny = await tinyModel();
  ({ dir: demoDir } = await writeClsDemoSet(process.env.FALIP_DATASETS, { images: 6 }));
  samples = await readClsManifest(path.join(demoDir, 'manifest.jsonl'));
  names = (await readClasses(demoDir)).names;
  opened = await openEncoder({ model: tiny.dir, device: 'cpu', precision: 'fp32' });
});
afterAll(() => removeTinyModels());

const config = (rows: unknown[]) =>
  parseTableConfig(
    {
      name: 'cls-test',
      title: 't',
      task: 'classification',
      columns: [
        { data: 'demo-cls/val', metric: 'top1' },
        { data: 'demo-cls/val', metric: 'top5' },
      ],
      rows,
    },
    () => 'test',
  );

const options = (out: string) => runOptions(opened, out);

const parse = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EvalRecord & { label: number; top5: number[]; top5_scores: number[] });

const normalize = (v: Float64Array) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
};

describe('classification on demo-cls', () => {
  it("records id, label, pred, top5 and correct, with the float64 reference model's scores and ranking", async () => {
    const out = path.join(dirs.root(), 'run');
    const result = await runTable(
      config([
        { key: 'plain', label: 'CLIP', methods: ['plain'] },
        { key: 'falip', label: 'FALIP', methods: [{ name: 'falip', alpha: 2 }] },
      ]),
      options(out),
    );
    const records = parse(await readFile(path.join(out, 'records.jsonl'), 'utf8'));
    expect(records).toHaveLength(2 * samples.length);
    const { config: cfg, weights } = tiny;
    // The reference classifier: "a photo of a <name>." through the float64 text tower.
    const text = names.map((n) =>
      normalize(textForwardRef(cfg, weights, opened.tokenizer.encode(`a photo of a ${n}.`, 77))),
    );
    let compared = 0;
    for (const s of samples) {
      const img = await loadImage(path.join(demoDir, 'images', s.image));
      const pixels = await preprocess(img, cfg.vision.imageSize);
      for (const row of ['plain', 'falip'] as const) {
        const request = makeMethod(row, row === 'falip' ? { alpha: 2 } : {}, cfg.vision, 'test').prepare({
          width: img.width,
          height: img.height,
          box: s.box,
        });
        const H = cfg.vision.numHeads;
        const gate =
          request.attention &&
          Array.from({ length: cfg.vision.numLayers }, (_, l) =>
            Array.from(request.attention!.gate.subarray(l * H, (l + 1) * H)),
          );
        const image = normalize(
          visionForwardRef(
            cfg,
            weights,
            pixels,
            request.attention ? { attnBias: request.attention.bias, biasGate: gate } : {},
          ).imageEmbeds,
        );
        const scores = text.map((t) => 100 * t.reduce((sum, x, i) => sum + x * image[i]!, 0));
        const r = records.find((x) => x.row === row && x.id === s.id)!;
        expect(r.label).toBe(s.label);
        expect(r.correct).toBe(r.pred === s.label);
        expect(r.pred).toBe(r.top5[0]);
        const expected = ranking(scores, 5);
        r.top5.forEach((c, k) => {
          expect(r.top5_scores[k]!, `${row} ${s.id} class ${c}`).toBeCloseTo(scores[c]!, 2);
          // Where the reference separates two classes clearly, the ranking agrees.
          if (Math.abs(scores[c]! - scores[expected[k]!]!) > 0.05) expect(c).toBe(expected[k]);
        });
        compared++;
      }
    }
    expect(compared).toBe(2 * samples.length);
    // The table's cells are the records' accuracies.
    const top1 = result.table.rows.find((r) => r.key === 'plain')!.cells.find((c) => c.column === 'demo-cls/val:top1')!;
    const plain = records.filter((r) => r.row === 'plain');
    expect(top1.ours!.value).toBeCloseTo((100 * plain.filter((r) => r.correct).length) / plain.length, 9);
  });

  it('resumes a run cut in the middle to the same records', async () => {
    const cfg = config([
      { key: 'plain', label: 'CLIP', methods: ['plain'] },
      { key: 'redcircle', label: 'RedCircle', methods: ['redcircle'] },
    ]);
    const out = path.join(dirs.root(), 'resume');
    await runTable(cfg, options(out));
    const file = path.join(out, 'records.jsonl');
    const full = await readFile(file, 'utf8');
    const lines = full.split('\n').filter(Boolean);
    await writeFile(file, `${lines.slice(0, 5).join('\n')}\n${lines[5]!.slice(0, 20)}`);
    const again = await runTable(cfg, options(out));
    expect(again.resumed).toBe(true);
    const key = (r: EvalRecord) => `${r.row}|${r.id}`;
    const before = new Map(parse(full).map((r) => [key(r), r]));
    const after = parse(await readFile(file, 'utf8'));
    expect(after).toHaveLength(before.size);
    for (const r of after) expect(r).toEqual(before.get(key(r)));
  });

  it("the template ensemble's classifier is the normalized mean of the templates' normalized embeddings", async () => {
    const texts = new TextFeatures(opened.encoder, opened.tokenizer);
    const [ensemble] = await textClassifier(texts, ['red circle'], ['a photo of a {}.', 'a drawing of a {}.']);
    const [a, b] = await Promise.all([texts.get('a photo of a red circle.'), texts.get('a drawing of a red circle.')]);
    const mean = a.map((x, i) => (x + b[i]!) / 2);
    const n = Math.sqrt(mean.reduce((s, x) => s + x * x, 0));
    ensemble!.forEach((x, i) => {
      expect(x).toBeCloseTo(mean[i]! / n, 6);
    });
  });
});

describe('classification metrics', () => {
  const rec = (label: number, pred: number, top5: number[], group?: { y: number; place: number }) => ({
    row: 'r',
    split: 'c',
    id: `${label}-${pred}-${Math.random()}`,
    pred,
    correct: pred === label,
    label,
    top5,
    ...(group && { group }),
  });
  const m = CLS_METRICS;
  const value = (name: string, records: EvalRecord[]) => {
    const metric = m[name]!;
    return 'perItem' in metric
      ? records.reduce((s, r) => s + metric.perItem(r), 0) / records.length
      : metric.ofRecords(records);
  };

  it('top-1, top-5, their means per class, and Waterbirds groups, computed by hand', () => {
    // Class 0: 3 images, 2 right (top-1), all 3 in the top 5; class 1: 1 image, wrong, not in the top 5.
    const records = [
      rec(0, 0, [0, 1, 2, 3, 4]),
      rec(0, 0, [0, 1, 2, 3, 4]),
      rec(0, 1, [1, 0, 2, 3, 4]),
      rec(1, 0, [0, 2, 3, 4, 5]),
    ];
    expect(value('top1', records)).toBe(50);
    expect(value('top5', records)).toBe(75);
    expect(value('top1_class_mean', records)).toBeCloseTo((100 * (2 / 3 + 0)) / 2, 9);
    expect(value('top5_class_mean', records)).toBeCloseTo((100 * (1 + 0)) / 2, 9);
    const birds = [
      rec(0, 0, [0, 1], { y: 0, place: 0 }),
      rec(0, 1, [1, 0], { y: 0, place: 1 }),
      rec(1, 1, [1, 0], { y: 1, place: 0 }),
      rec(1, 1, [1, 0], { y: 1, place: 1 }),
      rec(0, 0, [0, 1], { y: 0, place: 1 }),
    ];
    expect(value('landbird_water', birds)).toBe(50);
    expect(value('waterbird_land', birds)).toBe(100);
    expect(value('worst_group', birds)).toBe(50);
  });
});
