/**
 * The real CLI (`node bin/falip.js`) on bad input — EXPECTED FAILURE cases: exit code 2 and one
 * stderr line naming the file or field, never a stack trace — plus the success paths of
 * `falip encode` and the help texts.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../src/image/load-image.js';
import { preprocess } from '../../src/image/preprocess.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import type { WeightMap } from '../../src/model/tensor.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { copyTinyModel, removeTinyModels, tinyModel, type FolderEdit, type TinyModel } from '../helpers/tiny-model.js';
import { expectOk, expectUserError, runFalip, type CliResult } from '../helpers/cli.js';
import { writeDatasetFile } from '../helpers/dataset-files.js';

let tmp: string;
let model: TinyModel;
/** A 320×240 JPEG with a gradient and shapes. */
let image: string;

/** The CLI with models and datasets in the temp dir; asynchronous, so `describe.concurrent` cases overlap. */
function falip(...args: string[]): Promise<CliResult> {
  return runFalip(args, { FALIP_MODELS: path.join(tmp, 'models'), FALIP_DATASETS: path.join(tmp, 'datasets') });
}

/** A copy of the tiny model folder in the temp dir, changed by `edit`. */
const modelCopy = (name: string, edit: FolderEdit): Promise<string> => copyTinyModel(tmp, name, edit);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'falip-cli-'));
  mkdirSync(path.join(tmp, 'models'));
  model = await tinyModel();
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">' +
    '<stop offset="0" stop-color="#1040c0"/><stop offset="1" stop-color="#f0d020"/></linearGradient></defs>' +
    '<rect width="320" height="240" fill="url(#g)"/><circle cx="90" cy="80" r="50" fill="#e02070"/><rect x="180" y="120" width="100" height="90" fill="#20a040"/></svg>';
  image = path.join(tmp, 'shapes.jpg');
  await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(image);
});

afterAll(async () => {
  await removeTinyModels();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.concurrent('EXPECTED FAILURE: bad input exits 2 with one line naming the problem', () => {
  it('model folder without model.safetensors', async () => {
    const dir = await modelCopy('no-weights', (d) => rmSync(path.join(d, 'model.safetensors')));
    const r = await falip('encode', 'image', '--model', dir, '--image', image, '--device', 'cpu');
    expectUserError(r, path.join(dir, 'model.safetensors'), 'not found');
  });

  it('corrupt model.safetensors (random bytes)', async () => {
    const dir = await modelCopy('corrupt-weights', (d) => {
      // Deterministic noise: the first 8 bytes read as a header length far beyond the file.
      const bytes = new Uint8Array(4096);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
      writeFileSync(path.join(d, 'model.safetensors'), bytes);
    });
    const r = await falip('encode', 'image', '--model', dir, '--image', image, '--device', 'cpu');
    expectUserError(r, path.join(dir, 'model.safetensors'));
  });

  it('a tensor of the wrong shape', async () => {
    const name = 'vision_model.encoder.layers.3.mlp.fc1.weight';
    const dir = await modelCopy('wrong-shape', async (d) => {
      const weights: WeightMap = new Map(model.weights);
      const [rows, cols] = weights.get(name)!.shape as [number, number];
      weights.set(name, { shape: [rows, cols - 1], data: new Float32Array(rows * (cols - 1)) });
      await writeSafetensors(path.join(d, 'model.safetensors'), weights, { format: 'pt' });
    });
    const r = await falip('encode', 'image', '--model', dir, '--image', image, '--device', 'cpu');
    expectUserError(r, path.join(dir, 'model.safetensors'), name, 'shape');
  });

  it('weights that make the model produce NaN', async () => {
    const name = 'vision_model.post_layernorm.weight';
    const dir = await modelCopy('nan-weights', async (d) => {
      const weights: WeightMap = new Map(model.weights);
      const t = weights.get(name)!;
      weights.set(name, { shape: t.shape, data: new Float32Array(t.data.length).fill(Number.NaN) });
      await writeSafetensors(path.join(d, 'model.safetensors'), weights, { format: 'pt' });
    });
    const r = await falip('encode', 'image', '--model', dir, '--image', image, '--device', 'cpu');
    expectUserError(r, 'NaN');
  });

  it('config.json that is not JSON', async () => {
    const dir = await modelCopy('bad-config', (d) =>
      writeFileSync(path.join(d, 'config.json'), '{"vision_config": {"hidden_size": 64,'),
    );
    const r = await falip('encode', 'image', '--model', dir, '--image', image, '--device', 'cpu');
    expectUserError(r, path.join(dir, 'config.json'), 'JSON');
  });

  it('corrupt image file', async () => {
    const file = path.join(tmp, 'noise.jpg');
    writeFileSync(file, Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 97 + 13) % 251)));
    const r = await falip('encode', 'image', '--model', model.dir, '--image', file, '--device', 'cpu');
    expectUserError(r, file, 'cannot decode');
  });

  it('truncated JPEG', async () => {
    const file = path.join(tmp, 'truncated.jpg');
    const whole = readFileSync(image);
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await falip('encode', 'image', '--model', model.dir, '--image', file, '--device', 'cpu');
    expectUserError(r, file);
  });

  it('--box of zero area', async () => {
    const r = await falip(
      'encode',
      'image',
      '--model',
      model.dir,
      '--image',
      image,
      '--box',
      '10,20,0,30',
      '--method',
      'falip',
      '--device',
      'cpu',
    );
    expectUserError(r, '--box', 'zero area');
  });

  it('--box entirely outside the image', async () => {
    const r = await falip(
      'encode',
      'image',
      '--model',
      model.dir,
      '--image',
      image,
      '--box',
      '400,300,50,50',
      '--method',
      'falip',
      '--device',
      'cpu',
    );
    expectUserError(r, '--box', 'outside', '320x240');
  });

  it('unknown --arch for model random', async () => {
    const out = path.join(tmp, 'never-written');
    const r = await falip('model', 'random', '--arch', 'nope', '--out', out);
    expect(r.status).toBe(2);
    // commander's own message; showHelpAfterError adds a second, fixed hint line.
    const [first, ...rest] = r.stderr.trimEnd().split('\n');
    expect(first).toContain('--arch');
    expect(first).toContain('nope');
    expect(first).toContain('tiny');
    expect(rest.every((l) => /--help/.test(l))).toBe(true);
    expect(r.stderr).not.toMatch(/^\s*at /m);
    expect(existsSync(out)).toBe(false);
  });

  it.skipIf(cudaProviderInstalled())('--device cuda without the CUDA provider', async () => {
    const r = await falip('encode', 'image', '--model', model.dir, '--image', image, '--device', 'cuda');
    expectUserError(r, '--device cuda', 'npm run install-cuda');
  });
});

/** As src/encoder/execution-provider.ts decides it: the CUDA provider library next to the binding. */
function cudaProviderInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  const bin = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  return (
    existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so')) ||
    existsSync(path.join(bin, 'onnxruntime_providers_cuda.dll'))
  );
}

/** Parses an NPY v1/v2 little-endian float32 file. */
function readNpy(file: string): { shape: number[]; descr: string; data: Float32Array } {
  const buf = readFileSync(file);
  expect(buf.subarray(0, 6)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]));
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  expect((start + headerLen) % 64).toBe(0);
  expect(header.endsWith('\n')).toBe(true);
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1]!;
  expect(header).toMatch(/'fortran_order':\s*False/);
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = buf.subarray(start + headerLen);
  const data = new Float32Array(body.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = body.readFloatLE(4 * i);
  return { shape, descr, data };
}

describe.concurrent('success cases', () => {
  it('encode image --method falip --json prints the embedding; --dump-pixels writes the preprocessed tensor', async () => {
    const npy = path.join(tmp, 'pixels.npy');
    const r = await falip(
      'encode',
      'image',
      '--model',
      model.dir,
      '--image',
      image,
      '--box',
      '10,20,100,80',
      '--method',
      'falip',
      '--json',
      '--device',
      'cpu',
      '--dump-pixels',
      npy,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { embedding: number[] };
    expect(out.embedding).toHaveLength(model.config.projectionDim);
    expect(out.embedding.every(Number.isFinite)).toBe(true);

    const S = model.config.vision.imageSize;
    const { shape, descr, data } = readNpy(npy);
    expect(descr).toBe('<f4');
    expect(shape).toEqual([3, S, S]);
    const expected = await preprocess(await loadImage(image), S);
    expect(data.length).toBe(expected.length);
    let mismatches = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== expected[i]) mismatches++;
    expect(mismatches).toBe(0);

    // The mask is applied: the plain embedding of the same image differs.
    const plain = await falip('encode', 'image', '--model', model.dir, '--image', image, '--json', '--device', 'cpu');
    expect(plain.status, plain.stderr).toBe(0);
    const plainEmbedding = (JSON.parse(plain.stdout) as { embedding: number[] }).embedding;
    expect(plainEmbedding).toHaveLength(model.config.projectionDim);
    expect(plainEmbedding).not.toEqual(out.embedding);
  });

  it('encode text --json prints [{text, ids, embedding}] with ids from SOT to EOT', async () => {
    const r = await falip('encode', 'text', '--model', model.dir, '--json', '--device', 'cpu', 'a cat', '');
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { text: string; ids: number[]; embedding: number[] }[];
    const tok = await ClipTokenizer.fromFiles(path.join(model.dir, 'vocab.json'), path.join(model.dir, 'merges.txt'));
    expect(rows.map((row) => row.text)).toEqual(['a cat', '']);
    for (const row of rows) {
      expect(row.ids[0]).toBe(tok.sotId);
      expect(row.ids.at(-1)).toBe(tok.eotId);
      expect(row.ids).toEqual(tok.encode(row.text, model.config.text.contextLength));
      expect(row.embedding).toHaveLength(model.config.projectionDim);
    }
    expect(rows[1]!.ids).toEqual([tok.sotId, tok.eotId]);
    expect(rows[0]!.embedding).not.toEqual(rows[1]!.embedding);
  });

  it('falip --help exits 0 and lists the commands', async () => {
    const r = await falip('--help');
    expect(r.status, r.stderr).toBe(0);
    for (const cmd of ['model', 'encode', 'data']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('falip encode image --help exits 0 and mentions every option', async () => {
    const r = await falip('encode', 'image', '--help');
    expect(r.status, r.stderr).toBe(0);
    for (const opt of [
      '--box',
      '--method',
      '--alpha',
      '--sigma',
      '--layers',
      '--form',
      '--dump-pixels',
      '--device',
      '--threads',
      '--json',
      '--model',
      '--image',
    ]) {
      expect(r.stdout).toContain(opt);
    }
  });
});

describe('falip data check', () => {
  it('takes a folder, <name>/<split>, or a bare <name> with one split; exit 1 on errors, 2 on a name it cannot resolve', async () => {
    const datasets = path.join(tmp, 'datasets');
    expectOk(await falip('data', 'demo'));
    const val = path.join(datasets, 'demo', 'val');
    for (const target of [val, 'demo/val', 'demo']) {
      const r = expectOk(await falip('data', 'check', target));
      expect(r.stdout).toContain(`${val}:\n  refs: 57\n`);
      expect(r.stdout.trimEnd().endsWith('ok')).toBe(true);
    }
    // A second split makes the bare name ambiguous; its broken line fails the check (exit 1).
    const other = path.join(datasets, 'demo', 'other');
    cpSync(val, other, { recursive: true });
    const manifest = path.join(other, 'manifest.jsonl');
    const lines = readFileSync(manifest, 'utf8').split('\n');
    writeDatasetFile(other, 'manifest.jsonl', [lines[0], '{"id": 1}', ...lines.slice(2)].join('\n'));
    expectUserError(
      await falip('data', 'check', 'demo'),
      'demo: 2 splits are imported (demo/other, demo/val): name one',
    );
    expectUserError(await falip('data', 'check', 'nosuch'), 'nosuch: neither a dataset folder nor an imported dataset');
    const failed = await falip('data', 'check', 'demo/other');
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain(`${manifest}:2: id: expected string, received number`);
    expect(failed.stderr).toBe(`falip: data check: 1 error(s) in ${other}\n`);
  });
});
