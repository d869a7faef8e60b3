/**
 * Classification with prompt-tuned CLIPs end to end, in this process: prompt sets imported from the
 * committed CoOp, IVLP and MaPLe checkpoints (test/fixtures/pth) for the tiny model they were written
 * for (seed 3), evaluated on demo-cls with and without FALIP. Every record's scores against the float64
 * reference (text and image towers with the prompts, computed here), the run key's prompt identity, and
 * `falip eval --prompts` with its refusals.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, openEncoder, type OpenedEncoder } from '../../src/encoder/open-encoder.js';
import { readRunJson } from '../../src/experiments/run-json.js';
import { runTable } from '../../src/experiments/run-table.js';
import { parseTableConfig } from '../../src/experiments/table-config.js';
import { loadImage } from '../../src/image/load-image.js';
import { preprocess } from '../../src/image/preprocess.js';
import type { LearnedPrompts } from '../../src/model/learned-prompts/learned-prompts.js';
import { promptSetSource } from '../../src/cli/run-options.js';
import { importPromptSet } from '../../src/model/learned-prompts/prompt-registry.js';
import { importModel } from '../../src/model/model-registry.js';
import { resolveModel } from '../../src/model/model-store.js';
import { makeMethod } from '../../src/prompts/method.js';
import type { EvalRecord } from '../../src/report/records.js';
import { readClasses, readClsManifest, type ClsSample } from '../../src/tasks/classification/cls-manifest.js';
import { writeClsDemoSet } from '../../src/tasks/classification/demo-cls.js';
import { ranking } from '../../src/tasks/shared/scores.js';
import { CloudFileCache } from '../../src/tasks/pointcloud/h5-clouds.js';
import { importModelNet40 } from '../../src/tasks/pointcloud/importers/modelnet40-import.js';
import { loadCloud, readPcClasses, readPcManifest } from '../../src/tasks/pointcloud/pc-manifest.js';
import { cloudViews, VIEW_INPUT_LENGTH, viewPlane } from '../../src/tasks/pointcloud/depth-views.js';
import { foregroundBox } from '../../src/tasks/pointcloud/foreground.js';
import { TensorImage } from '../../src/encoder/image-input.js';
import { textPromptInputs } from '../../src/model/graphs/prompted-text-graph.js';
import { visionPromptInputs } from '../../src/model/graphs/vision-prompts.js';
import { writeModelNet } from '../helpers/pointcloud-fixtures.js';
import { sha256OfFile } from '../../src/util/sha256.js';
import { expectRefusal, falipInProcess } from '../helpers/cli.js';
import { pthFixture } from '../helpers/pth-fixtures.js';
import { gateRows } from '../helpers/requests.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { removeTinyModels, tinyModel, type TinyModel } from '../helpers/tiny-model.js';
import { textForwardRef, visionForwardRef } from '../reference/clip-reference.js';
import { runOptions } from '../helpers/run-options.js';

const dirs = useTempFalipDirs('falip-prompted-eval-');
const SETS = { coop: 'coop.pth.tar-10', ivlp: 'ivlp.pth.tar-20', maple: 'maple.pth.tar-5', csc: 'coop-csc.pth.tar-10' };
let tiny: TinyModel;
let opened: OpenedEncoder;
let samples: ClsSample[];
let names: string[];
let demoDir: string;
const learned = new Map<string, LearnedPrompts>();

beforeAll(async () => {
  tiny = await tinyModel();
  await importModel(tiny.dir, 'tiny3');
  const model = await resolveModel('tiny3');
  for (const [name, file] of Object.entries(SETS))
    learned.set(name, (await importPromptSet(pthFixture(file), model, name)).imported.prompts);
  ({ dir: demoDir } = await writeClsDemoSet(process.env.FALIP_DATASETS, { images: 3 }));
  samples = await readClsManifest(path.join(demoDir, 'manifest.jsonl'));
  names = (await readClasses(demoDir)).names;
  opened = await openEncoder({ model: 'tiny3', device: 'cpu', precision: 'fp32' });
});
afterAll(() => removeTinyModels());

const config = (rows: unknown[]) =>
  parseTableConfig(
    {
      name: 'prompted',
      title: 't',
      task: 'classification',
      columns: [{ data: 'demo-cls/val', metric: 'top5' }],
      rows,
    },
    () => 'test',
  );

const options = (out: string) => runOptions(opened, out, { prompts: promptSetSource(opened) });

const parse = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EvalRecord & { label: number; top5: number[]; top5_scores: number[] });

const normalized = (v: Float32Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const normalize = (v: Float64Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const layers = (m: ReadonlyMap<number, { data: Float32Array }>) => new Map([...m].map(([l, t]) => [l, t.data]));

/** The reference classifier of a prompt set: "X … X <name>." with its context, through the float64 text tower. */
function referenceClassifier(p: LearnedPrompts): Float64Array[] {
  const { config: cfg, weights } = tiny;
  const D = cfg.text.hiddenSize;
  return names.map((name, c) => {
    const text = `${Array(p.nCtx).fill('X').join(' ')} ${name.replaceAll('_', ' ')}.`;
    const ids = opened.tokenizer.encode(text, cfg.text.contextLength);
    const ctx = p.ctx.shape.length === 3 ? p.ctx.data.subarray(c * p.nCtx * D, (c + 1) * p.nCtx * D) : p.ctx.data;
    return normalize(textForwardRef(cfg, weights, ids, { ctx, deep: layers(p.deepText) }));
  });
}

describe('classification with learned prompts', () => {
  const ROWS = [
    { key: 'plain@coop', label: 'CoOp', methods: ['plain'], prompts: 'coop' },
    { key: 'falip@ivlp', label: 'IVLP + FALIP', methods: [{ name: 'falip', alpha: 2 }], prompts: 'ivlp' },
    {
      key: 'falip@maple-cls',
      label: 'MaPLe + FALIP (cls)',
      methods: [{ name: 'falip', alpha: 2 }],
      prompts: 'maple',
      prompt_mask: 'cls',
    },
    { key: 'falip', label: 'FALIP', methods: [{ name: 'falip', alpha: 2 }] },
  ];

  it("every record's scores are the float64 reference model's with the prompts in both towers", async () => {
    const out = path.join(dirs.root(), 'run');
    await runTable(config(ROWS), options(out));
    const records = parse(await readFile(path.join(out, 'records.jsonl'), 'utf8'));
    expect(records).toHaveLength(ROWS.length * samples.length);
    const { config: cfg, weights } = tiny;
    const classifiers = {
      coop: referenceClassifier(learned.get('coop')!),
      ivlp: referenceClassifier(learned.get('ivlp')!),
      maple: referenceClassifier(learned.get('maple')!),
    };
    const plainText = names.map((n) =>
      normalize(textForwardRef(cfg, weights, opened.tokenizer.encode(`a photo of a ${n}.`, 77))),
    );
    for (const s of samples) {
      const img = await loadImage(path.join(demoDir, 'images', s.image));
      const pixels = await preprocess(img, cfg.vision.imageSize);
      const falip = makeMethod('falip', { alpha: 2 }, cfg.vision, 'test').prepare({
        width: img.width,
        height: img.height,
        box: s.box,
      }).attention!;
      const bias = { attnBias: falip.bias, biasGate: gateRows(falip.gate, cfg.vision.numHeads) };
      const vision = (name: 'ivlp' | 'maple', mask: 'zero' | 'cls') => {
        const v = learned.get(name)!.vision!;
        return { prompts: { shallow: v.shallow.data, deep: layers(v.deep), mask } };
      };
      const cases = [
        { row: 'plain@coop', text: classifiers.coop, image: visionForwardRef(cfg, weights, pixels) },
        {
          row: 'falip@ivlp',
          text: classifiers.ivlp,
          image: visionForwardRef(cfg, weights, pixels, { ...bias, ...vision('ivlp', 'zero') }),
        },
        {
          row: 'falip@maple-cls',
          text: classifiers.maple,
          image: visionForwardRef(cfg, weights, pixels, { ...bias, ...vision('maple', 'cls') }),
        },
        { row: 'falip', text: plainText, image: visionForwardRef(cfg, weights, pixels, bias) },
      ];
      for (const c of cases) {
        const image = normalize(c.image.imageEmbeds);
        const scores = c.text.map((t) => 100 * t.reduce((sum, x, i) => sum + x * image[i]!, 0));
        const r = records.find((x) => x.row === c.row && x.id === s.id)!;
        const expected = ranking(scores, 5);
        r.top5.forEach((k, j) => {
          expect(r.top5_scores[j]!, `${c.row} ${s.id} class ${k}`).toBeCloseTo(scores[k]!, 2);
          if (Math.abs(scores[k]! - scores[expected[j]!]!) > 0.05) expect(k).toBe(expected[j]);
        });
      }
    }
  });

  it('run keys name each prompt set by its checkpoint and tensors, and the mask; footnotes describe them', async () => {
    const out = path.join(dirs.root(), 'keyed');
    const result = await runTable(config(ROWS.slice(0, 3)), options(out));
    const run = (await readRunJson(path.join(out, 'run.json')))!;
    const byKey = new Map(run.key.rows.map((r) => [r.key, r.prompts]));
    expect(byKey.get('plain@coop')).toEqual({
      name: 'coop',
      trainer: 'coop',
      checkpoint: await sha256OfFile(pthFixture(SETS.coop)),
      tensors: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(byKey.get('falip@ivlp')).toMatchObject({ trainer: 'ivlp', mask: 'zero' });
    expect(byKey.get('falip@maple-cls')).toMatchObject({
      trainer: 'maple',
      checkpoint: await sha256OfFile(pthFixture(SETS.maple)),
      mask: 'cls',
    });
    const notes = run.details.render.footnotes.join('\n');
    expect(notes).toContain('Prompts coop: coop, coop.pth.tar-10 (sha256 ');
    expect(notes).toContain('class texts "X X X X <class name>."');
    expect(notes).toContain('3 vision prompt tokens appended after the positional embedding');
    expect(notes).toContain('seed 003\'s "W/O prompt" reading');
    expect(notes).toContain(
      'Rows with prompt mask cls: on prompted images the CLS query also attends to the prompt tokens',
    );
    // Another mask is another run.
    const other = await runTable(
      config([{ ...ROWS[2]!, prompt_mask: 'zero' }]),
      options(path.join(dirs.root(), 'other-mask')),
    );
    expect(other.dir).not.toBe(result.dir);
  });
});

describe('point clouds with learned prompts', () => {
  it("each cloud's prediction is the argmax of its views' scores under the prompt set's text and vision prompts", async () => {
    const release = await writeModelNet(path.join(dirs.root(), 'modelnet40_ply_hdf5_2048'), {
      'ply_data_test0.h5': { clouds: [0, 1], labels: [0, 15], labelLayout: 'modelnet' },
    });
    const pcDir = (await importModelNet40({ root: release, outRoot: process.env.FALIP_DATASETS })).dir;
    const out = path.join(dirs.root(), 'pc');
    await runTable(
      parseTableConfig(
        {
          name: 'pc-prompted',
          title: 't',
          task: 'pointcloud',
          columns: ['modelnet40/test'],
          rows: [{ key: 'falip@ivlp', label: 'IVLP + FALIP', methods: [{ name: 'falip', alpha: 3 }], prompts: 'ivlp' }],
        },
        () => 'test',
      ),
      options(out),
    );
    const records = parse(await readFile(path.join(out, 'records.jsonl'), 'utf8'));
    const pcSamples = await readPcManifest(path.join(pcDir, 'manifest.jsonl'));
    const classes = await readPcClasses(pcDir);
    // Naive: a fresh batch-1 encoder without sharing; the prompts as the graphs take them.
    const cfg = tiny.config;
    const naive = createEncoder(opened.encoder.graphs, { device: 'cpu', batchSize: 1, prefixSharing: false });
    const p = learned.get('ivlp')!;
    const textPrompts = textPromptInputs(cfg.text, p, 'naive-ivlp');
    const prompts = visionPromptInputs(cfg.vision, p.vision!, 'naive-ivlp', 'zero');
    const text = await Promise.all(
      classes.names.map(async (n) => {
        const ids = opened.tokenizer.encode(`X X ${n.replaceAll('_', ' ')}.`, 77);
        return normalized(await naive.text(ids, { prompts: textPrompts, ctx: textPrompts.ctx }));
      }),
    );
    const files = new CloudFileCache();
    for (const s of pcSamples) {
      const { clipInput } = cloudViews((await loadCloud(files, s, classes.names.length)).points);
      const summed = new Float64Array(text.length);
      for (let view = 0; view < 6; view++) {
        const input = new TensorImage(
          `naive-${s.id}-${view}`,
          clipInput.subarray(view * VIEW_INPUT_LENGTH, (view + 1) * VIEW_INPUT_LENGTH),
          224,
          224,
        );
        const box = foregroundBox(viewPlane(clipInput, view), 224)!;
        const request = makeMethod('falip', { alpha: 3 }, cfg.vision, 't').prepare({ width: 224, height: 224, box });
        const f = normalized(await naive.image(input, { ...request, prompts }));
        text.forEach((t, c) => {
          summed[c]! += 100 * t.reduce((sum, x, i) => sum + x * f[i]!, 0);
        });
      }
      const r = records.find((x) => x.id === s.id)!;
      expect(r.top5).toEqual(ranking(summed, 5));
    }
    await files.closeAll();
  });
});

describe('falip eval --prompts', () => {
  const evalArgs = ['eval', 'demo-cls', '--model', 'tiny3', '--device', 'cpu', '--json'];

  it('runs every method once per prompt set, none being the base CLIP, keyed <method>@<set>', async () => {
    const r = await falipInProcess(...evalArgs, '--method', 'plain,falip', '--prompts', 'none,coop,ivlp');
    expect(r.code, r.err).toBe(0);
    const table = JSON.parse(r.out) as { rows: { key: string; label: string }[] };
    expect(table.rows.map((row) => row.key)).toEqual([
      'plain',
      'falip',
      'plain@coop',
      'falip@coop',
      'plain@ivlp',
      'falip@ivlp',
    ]);
    expect(table.rows.find((row) => row.key === 'falip@ivlp')!.label).toBe('falip @ ivlp');
  });

  it('refuses, with one line and exit 2, what it cannot run', async () => {
    expectRefusal(
      await falipInProcess(...evalArgs, '--prompts', 'nosuch'),
      "prompt set 'nosuch' is not registered for model 'tiny3'",
    );
    expectRefusal(
      await falipInProcess(...evalArgs, '--prompt-mask', 'cls'),
      '--prompt-mask: applies to rows with --prompts',
    );
    expectRefusal(
      await falipInProcess(...evalArgs, '--prompts', 'ivlp', '--prompt-mask', 'some'),
      '--prompt-mask some: expected one of zero, cls',
    );
    expectRefusal(
      await falipInProcess(...evalArgs, '--prompts', 'csc'),
      'a class-specific context for 3 classes; this dataset has 18',
    );
    expectRefusal(
      await falipInProcess(...evalArgs, '--prompts', 'ivlp', '--method', 'feature-mask'),
      "feature-mask is an ablation, which does not run on a prompt-tuned CLIP's images",
    );
    expectRefusal(
      await falipInProcess('eval', 'demo', '--model', 'tiny3', '--device', 'cpu', '--prompts', 'coop'),
      '--prompts: rec datasets take no learned prompts',
    );
  });
});
