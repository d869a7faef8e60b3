/**
 * REC evaluation end to end on the tiny model and a small demo set: resuming an interrupted run,
 * the fast path (batching, prefix sharing, per-(method, box) feature reuse) against a naive
 * per-sentence, per-box evaluation computed here, and the feature cache keys.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { datasetDir } from '../../src/datasets/dataset-store.js';
import { writeDemoSet } from '../../src/tasks/rec/demo-set.js';
import { readRecManifest, type RecSample } from '../../src/tasks/rec/rec-manifest.js';
import { DecodedImage } from '../../src/encoder/image-input.js';
import { createEncoder, openEncoder, type ModelSummary, type OpenedEncoder } from '../../src/encoder/open-encoder.js';
import type { BoxXYWH } from '../../src/image/box.js';
import { loadImage } from '../../src/image/load-image.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import type { VisionConfig } from '../../src/model/clip-config.js';
import type { ClipTokenizer } from '../../src/model/tokenizer.js';
import { makeMethod, type Method } from '../../src/prompts/method.js';
import type { EvalRecord } from '../../src/report/records.js';
import { sampleNegatives, type BankCaption, type SubtractSpec } from '../../src/tasks/rec/negatives.js';
import { boxLogit } from '../../src/tasks/rec/rec-scoring.js';
import { argmax } from '../../src/tasks/shared/scores.js';
import { runTable } from '../../src/experiments/run-table.js';
import { parseTableConfig, type TableConfig } from '../../src/experiments/table-config.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { runOptions } from '../helpers/run-options.js';

const dirs = useTempFalipDirs('falip-rec-eval-');
let tmp: string;
let encoder: OpenedEncoder['encoder'];
let tokenizer: ClipTokenizer;
let model: ModelSummary;
let v: VisionConfig;
let samples: RecSample[];
let demoDir: string;

beforeAll(async () => {
  tmp = dirs.root();
  await writeDemoSet(process.env.FALIP_DATASETS, { images: 5 });
  demoDir = datasetDir('demo', 'val', process.env.FALIP_DATASETS);
  samples = await readRecManifest(path.join(demoDir, 'manifest.jsonl'));
  ({ encoder, tokenizer, model } = await openEncoder({ model: 'tiny', device: 'cpu', precision: 'fp32' }));
  v = encoder.config.vision;
});

function config(rows: unknown[]): TableConfig {
  return parseTableConfig(
    { name: 'rec-eval-test', title: 'test', task: 'rec', columns: ['demo/val'], rows },
    () => 'test.yaml',
  );
}

const options = (out: string) => runOptions({ encoder, tokenizer, model }, out);

function parseRecords(text: string): EvalRecord[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as EvalRecord);
}

const recKey = (r: EvalRecord): string => JSON.stringify([r.row, r.split, r.id]);

/** Per row: [accuracy, n] for the demo/val cell of a results table. */
function cellsOf(table: Awaited<ReturnType<typeof runTable>>['table']): Record<string, [number, number]> {
  return Object.fromEntries(
    table.rows.map((r) => {
      const c = r.cells.find((cell) => cell.column === 'demo/val')!;
      return [r.key, [c.ours!.value, c.ours!.n]];
    }),
  );
}

describe('resume', () => {
  it('an interrupted run (half the records, a partial last line) resumes to the same table, each record once', async () => {
    const cfg = config([
      { key: 'falip', label: 'FALIP', methods: ['falip'] },
      { key: 'redcircle', label: 'RedCircle', methods: ['redcircle'] },
    ]);
    const out = path.join(tmp, 'resume-run');
    const first = await runTable(cfg, options(out));
    expect(first.resumed).toBe(false);
    const recordsPath = path.join(out, 'records.jsonl');
    const fullText = await readFile(recordsPath, 'utf8');
    const full = parseRecords(fullText);
    const sentenceCount = samples.reduce((s, x) => s + x.sentences.length, 0);
    expect(full).toHaveLength(2 * sentenceCount);

    // The table's cells agree with the records (counted here) before anything else is compared.
    const firstCells = cellsOf(first.table);
    for (const row of ['falip', 'redcircle']) {
      const recs = full.filter((r) => r.row === row);
      expect(firstCells[row]![1]).toBe(sentenceCount);
      expect(firstCells[row]![0]).toBeCloseTo((100 * recs.filter((r) => r.correct).length) / recs.length, 9);
    }

    // Interrupt: keep the first half of the lines plus a cut-off piece of the next one.
    const lines = fullText.split('\n').filter((l) => l !== '');
    const half = Math.floor(lines.length / 2);
    const kept = `${lines.slice(0, half).join('\n')}\n${lines[half]!.slice(0, Math.floor(lines[half]!.length / 2))}`;
    await writeFile(recordsPath, kept);

    const second = await runTable(cfg, options(out));
    expect(second.resumed).toBe(true);
    expect(second.dir).toBe(first.dir);
    const resumedText = await readFile(recordsPath, 'utf8');
    // The kept half is untouched at the start of the log, and the partial line is gone.
    expect(resumedText.startsWith(`${lines.slice(0, half).join('\n')}\n`)).toBe(true);
    const resumed = parseRecords(resumedText);
    expect(resumed).toHaveLength(full.length);
    const keys = resumed.map(recKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys)).toEqual(new Set(full.map(recKey)));
    // Same predictions and scores as the uninterrupted run, record by record.
    const byKey = new Map(full.map((r) => [recKey(r), r]));
    for (const r of resumed) {
      const f = byKey.get(recKey(r))!;
      expect(r.pred).toBe(f.pred);
      expect(r.correct).toBe(f.correct);
      expect(r.scores).toEqual(f.scores);
    }
    expect(cellsOf(second.table)).toEqual(firstCells);
    // metrics.json was rewritten with the full counts.
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8')) as {
      rows: { row: string; cells: Record<string, { ours: { n: number } }> }[];
    };
    for (const r of metrics.rows) expect(r.cells['demo/val']!.ours.n).toBe(sentenceCount);
  });
});

describe('fast path vs naive path', () => {
  const SUBTRACT: SubtractSpec = { count: 20, from: 'split', seed: 0 };

  /** The rows, as config entries and as methods built here directly with makeMethod. */
  const rows = (): { key: string; entry: unknown[]; methods: Method[]; subtract?: SubtractSpec }[] => {
    const m = (name: string, params: Record<string, unknown> = {}) => makeMethod(name, params, v, 'test');
    return [
      { key: 'falip', entry: ['falip'], methods: [m('falip')] },
      { key: 'falip-1-4', entry: [{ name: 'falip', layers: '1-4' }], methods: [m('falip', { layers: '1-4' })] },
      { key: 'falip-12', entry: [{ name: 'falip', layers: 12 }], methods: [m('falip', { layers: '12' })] },
      { key: 'redcircle', entry: ['redcircle'], methods: [m('redcircle')] },
      {
        key: 'falip-blur-p',
        entry: ['falip', 'blur+falip'],
        methods: [m('falip'), m('blur+falip')],
        subtract: SUBTRACT,
      },
    ];
  };

  it('gives the same predictions and scores as fresh batch-1, no-prefix-sharing encodes per sentence and box', async () => {
    expect(v.numLayers).toBe(12); // the layer ranges below assume ViT-B/16's 12 layers
    const defs = rows();
    // Sanity of the hand-built methods: default layers are 9-12 (0-based 8..11).
    expect(defs[0]!.methods[0]!.params.layers).toEqual([8, 9, 10, 11]);
    expect(defs[2]!.methods[0]!.params.layers).toEqual([11]);
    const cfg = config(
      defs.map((d) => ({
        key: d.key,
        label: d.key,
        methods: d.entry,
        ...(d.subtract && { subtract: { count: d.subtract.count } }),
      })),
    );
    const out = path.join(tmp, 'fast-run');
    const run = await runTable(cfg, options(out));
    const fast = new Map(
      parseRecords(await readFile(path.join(out, 'records.jsonl'), 'utf8')).map((r) => [recKey(r), r]),
    );

    // (b) A separate encoder: one request per model call, every layer run for every box.
    const naive = createEncoder(encoder.graphs, { device: 'cpu', batchSize: 1, prefixSharing: false });
    const textCache = new Map<string, number[]>();
    const textFeature = async (text: string): Promise<number[]> => {
      let f = textCache.get(text);
      if (!f) {
        const raw = await naive.text(tokenizer.encode(text, 77));
        const n = Math.sqrt(raw.reduce((s, x) => s + x * x, 0));
        f = Array.from(raw, (x) => x / n);
        textCache.set(text, f);
      }
      return f;
    };
    const meanFeature = async (texts: string[]): Promise<Float32Array> => {
      const feats = await Promise.all(texts.map(textFeature));
      return Float32Array.from(feats[0]!.map((_, i) => feats.reduce((s, f) => s + f[i]!, 0) / feats.length));
    };
    let request = 0;
    const imageFeature = async (img: RgbImage, box: BoxXYWH, m: Method): Promise<Float32Array> => {
      // Every request is its own image to the encoder: nothing is shared or reused.
      const raw = await naive.image(
        new DecodedImage(`naive-${request++}`, img),
        m.prepare({ width: img.width, height: img.height, box }),
      );
      const n = Math.sqrt(raw.reduce((s, x) => s + x * x, 0));
      return raw.map((x) => x / n);
    };
    const caption = (text: string): string => `a photo of ${text.toLowerCase()}`;
    const bank: BankCaption[] = samples.flatMap((s) => s.sentences.map((t) => ({ text: t.text, image: s.image })));

    const naiveScores = new Map<string, number[]>();
    let compared = 0;
    let correct = 0;
    const images = new Map<string, RgbImage>();
    for (const sample of samples) {
      let img = images.get(sample.image);
      if (!img) {
        img = await loadImage(path.join(demoDir, 'images', sample.image));
        images.set(sample.image, img);
      }
      const boxes = sample.gold.map((g) => g.box);
      const candidates = boxes.flatMap((b, i) => (b[2] * b[3] > 0 ? [i] : []));
      expect(candidates).toHaveLength(boxes.length);
      for (const sentence of sample.sentences) {
        for (const def of defs) {
          const scores = boxes.map(() => 0);
          for (const m of def.methods) {
            const cap = Float32Array.from(await textFeature(caption(sentence.text)));
            const neg = def.subtract
              ? await meanFeature(sampleNegatives(bank, sentence.id, sample.image, def.subtract).map(caption))
              : undefined;
            for (const c of candidates) scores[c]! += boxLogit(await imageFeature(img, boxes[c]!, m), cap, neg);
          }
          const pred = argmax(scores, candidates);
          const rec = fast.get(JSON.stringify([def.key, 'demo/val', sentence.id]));
          expect(rec, `${def.key} ${sentence.id} recorded`).toBeDefined();
          expect(rec!.pred, `${def.key} ${sentence.id} pred`).toBe(pred);
          // Demo shapes never overlap, so correct ⇔ the predicted gold box is the target.
          expect(rec!.correct).toBe(sample.target_ids.includes(sample.gold[pred]!.id));
          rec!.scores!.forEach((s, i) => {
            expect(Math.abs(s! - scores[i]!), `${def.key} ${sentence.id} box ${i}`).toBeLessThanOrEqual(2e-4);
          });
          naiveScores.set(`${def.key}|${sentence.id}`, scores);
          if (def.key === 'falip') correct += rec!.correct ? 1 : 0;
          compared++;
        }
      }
    }
    const sentences = samples.reduce((s, x) => s + x.sentences.length, 0);
    expect(compared).toBe(defs.length * sentences);
    expect(fast.size).toBe(compared);
    const falipCell = run.table.rows.find((r) => r.key === 'falip')!.cells.find((c) => c.column === 'demo/val')!;
    expect(falipCell.ours!.n).toBe(sentences);
    expect(falipCell.ours!.value).toBeCloseTo((100 * correct) / sentences, 9);

    // The comparison is not vacuous: layer choice, subtraction and the ensemble change the scores.
    const differs = (a: string, b: string): boolean =>
      samples.some((s) =>
        s.sentences.some((t) =>
          naiveScores.get(`${a}|${t.id}`)!.some((x, i) => Math.abs(x - naiveScores.get(`${b}|${t.id}`)![i]!) > 1e-3),
        ),
      );
    expect(differs('falip', 'falip-1-4')).toBe(true);
    expect(differs('falip', 'falip-12')).toBe(true);
    expect(differs('falip', 'falip-blur-p')).toBe(true);
  });
});

describe('prefix sharing across settings', () => {
  it('runs the unmasked prefix once per image for a whole α × σ grid at fixed layers', async () => {
    const grid = [0.05, 0.2, 0.6].flatMap((alpha) => [1, 100].map((sigma) => ({ alpha, sigma })));
    const rows = grid.map(({ alpha, sigma }) => ({
      key: `a${alpha}-s${sigma}`,
      label: `${alpha}/${sigma}`,
      methods: [{ name: 'falip', alpha, sigma }],
    }));
    // A fresh encoder: the shared one already holds these images' prefixes from the tests above.
    const fresh = createEncoder(encoder.graphs, { device: 'cpu', batchSize: 8 });
    await runTable(config(rows), { ...options(path.join(tmp, 'prefix-grid')), encoder: fresh });
    const images = new Set(samples.map((s) => s.image)).size;
    // Six settings, every box of every image: still one prefix per image (the suffix carries the masks).
    expect(fresh.stats().prefixRuns).toBe(images);
  });
});

describe('Method.key (feature cache key)', () => {
  const key = (name: string, params: Record<string, unknown> = {}) => makeMethod(name, params, v, 'test').key;

  it('differs whenever a parameter that changes pixels, mask or caption changes, and is equal for equal params', () => {
    const base = key('falip');
    expect(key('falip')).toBe(base);
    expect(key('falip', { alpha: 0.2, sigma: 100, layers: '9-12', form: 'a' })).toBe(base);
    for (const params of [
      { alpha: 0.3 },
      { sigma: 50 },
      { layers: '1-4' },
      { layers: 12 },
      { form: 'b' },
      { form: 'c' },
      { heads: '1' },
    ]) {
      expect(key('falip', params), JSON.stringify(params)).not.toBe(base);
    }
    const blur = key('blur');
    expect(key('blur', { blur_sigma: 5 })).not.toBe(blur);
    expect(key('blur', { blur_sigma: 5 })).toBe(key('blur', { blur_sigma: 5 }));
    expect(key('blur+falip')).not.toBe(blur);
    expect(key('blur+falip', { blur_sigma: 5 })).not.toBe(key('blur+falip'));
    const circle = key('redcircle');
    expect(key('redcircle', { circle_thickness: 4 })).not.toBe(circle);
    expect(key('redcircle', { circle_thickness: 4 })).not.toBe(key('redcircle', { circle_thickness: 2 }));
    expect(key('redcircle+blur', { blur_sigma: 5 })).not.toBe(key('redcircle+blur'));
    expect(key('redcircle+falip')).not.toBe(circle);
    // Different methods never share a key (pixels, mask or caption template differ).
    const all = [
      'plain',
      'falip',
      'redcircle',
      'redcircle+blur',
      'redcircle+falip',
      'blur',
      'blur+falip',
      'crop',
      'shade',
      'grayscale',
    ].map((n) => key(n));
    expect(new Set(all).size).toBe(all.length);
  });
});
