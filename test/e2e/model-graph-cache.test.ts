import {
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { createSession, int64Tensor } from '../../src/encoder/ort-session.js';
import { ModelGraphs } from '../../src/model/graph-cache.js';
import { clsProjectionGraph } from '../../src/model/graphs/cls-projection-graph.js';
import { textGraph } from '../../src/model/graphs/text-graph.js';
import { configHash } from '../../src/model/model-identity.js';
import { importModel } from '../../src/model/model-registry.js';
import { resolveModel, type ResolvedModel } from '../../src/model/model-store.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { checkWeightsIndex } from '../../src/model/weights-index-check.js';
import { sha256OfFile } from '../../src/util/sha256.js';
import { userErrorMessage } from '../helpers/errors.js';
import {
  copyTinyModel,
  editConfig,
  removeTinyModels,
  TINY_SEED,
  tinyModel,
  type TinyModel,
} from '../helpers/tiny-model.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-graph-cache-');
let tiny: TinyModel;
let model: ResolvedModel;
let ids: number[];
/** The text embedding of the first, freshly built cache. */
let reference: Float32Array;
let stderr: MockInstance<typeof process.stderr.write>;

beforeAll(async () => {
  tiny = await tinyModel();
  model = { name: 'tiny-3', sourceDir: tiny.dir, cacheDir: path.join(dirs.root(), 'cache') };
  const tokenizer = await ClipTokenizer.fromFiles(path.join(tiny.dir, 'vocab.json'), path.join(tiny.dir, 'merges.txt'));
  ids = tokenizer.encode('a photo of a cat');
  reference = await textEmbedding(await ModelGraphs.open(model));
});
afterAll(() => removeTinyModels());
afterEach(() => stderr?.mockRestore());

async function textEmbedding(graphs: ModelGraphs): Promise<Float32Array> {
  const session = await createSession(await graphs.path(textGraph), { device: 'cpu', threads: 1 });
  try {
    const out = await session.run({ input_ids: int64Tensor(BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return out.text_embeds!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function captureStderr(): () => string[] {
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () => stderr.mock.calls.map((c) => String(c[0]));
}

/** Overwrites one byte in place (as a disk error or a stray write would), moving the file's mtime. */
function flipByte(file: string, at: number): void {
  const byte = readFileSync(file)[at]!;
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.of(byte ^ 0xff), 0, 1, at);
  closeSync(fd);
}

describe('identity', () => {
  it('is the weights sha256 plus the config hash, and names the cache folder', async () => {
    const graphs = await ModelGraphs.open(model);
    expect(graphs.identity).toEqual({
      sha256: tiny.sha256,
      configHash: configHash(tiny.config),
      arch: 'tiny',
      // falip wrote these weights at random, and marked them so in the file.
      randomWeights: `falip model random --arch tiny --seed ${TINY_SEED}`,
    });
    expect(graphs.sha256).toBe(tiny.sha256);
    expect(path.basename(graphs.dir)).toBe(
      `graphs-${tiny.sha256.slice(0, 16)}-${configHash(tiny.config).slice(0, 12)}-v1`,
    );
  });

  it('a changed config over the same weights never reuses graphs', async () => {
    const dir = await copyTinyModel(dirs.root(), 'eps', (d) =>
      editConfig(d, (c) => (c.text_config.layer_norm_eps = 1e-6)),
    );
    const other = await ModelGraphs.open({ ...model, sourceDir: dir });
    const base = await ModelGraphs.open(model);
    expect(other.identity.sha256).toBe(base.identity.sha256);
    expect(other.identity.configHash).not.toBe(base.identity.configHash);
    expect(other.dir).not.toBe(base.dir);
  });

  it('a registered model whose config.json changed since import is refused', async () => {
    const dir = await copyTinyModel(dirs.root(), 'registered');
    await importModel(dir, 'registered');
    editConfig(dir, (c) => (c.vision_config.layer_norm_eps = 1e-6));
    const resolved = await resolveModel('registered');
    expect(await userErrorMessage(ModelGraphs.open(resolved))).toBe(
      `model 'registered': ${path.join(dir, 'config.json')} changed since it was imported; re-import it: falip model import ${dir} --name registered --force`,
    );
  });
});

describe('verified graph cache', () => {
  it('every cached file has a manifest; a warm open reports nothing', async () => {
    const graphs = await ModelGraphs.open(model);
    await graphs.path(clsProjectionGraph);
    const lines = captureStderr();
    expect(await textEmbedding(await ModelGraphs.open(model))).toEqual(reference);
    expect(lines()).toEqual([]);
    for (const f of readdirSync(graphs.dir).filter((f) => !f.endsWith('.manifest.json'))) {
      expect(existsSync(path.join(graphs.dir, `${f}.manifest.json`)), f).toBe(true);
    }
  });

  // The text graph's .onnx (flipped mid-file) and its weights .bin: both are caught by their sha256 and rebuilt.
  it.each([
    {
      what: 'the cached .onnx',
      fileOf: (graphs: ModelGraphs) => graphs.path(textGraph),
      at: (file: string) => Math.floor(statSync(file).size / 2),
    },
    {
      what: 'the weights .bin',
      fileOf: async (graphs: ModelGraphs) => {
        await graphs.path(textGraph);
        return path.join(graphs.dir, 'text.bin');
      },
      at: () => 5000,
    },
  ])('a flipped byte in $what is reported once, rebuilt, and gives the same embedding', async ({ fileOf, at }) => {
    const graphs = await ModelGraphs.open(model);
    const file = await fileOf(graphs);
    const good = await sha256OfFile(file);
    flipByte(file, at(file));
    const lines = captureStderr();
    const reopened = await ModelGraphs.open(model);
    expect(await textEmbedding(reopened)).toEqual(reference);
    await reopened.path(textGraph);
    expect(lines()).toEqual([
      `falip: ${file}: corrupt cache entry (sha256 differs from the one recorded when it was written), rebuilding\n`,
    ]);
    expect(await sha256OfFile(file)).toBe(good);
  });

  it('small files are hashed every run: a flip that restores the mtime is caught too', async () => {
    const file = await (await ModelGraphs.open(model)).path(textGraph);
    const { atime, mtime } = statSync(file);
    flipByte(file, 100);
    utimesSync(file, atime, mtime);
    const lines = captureStderr();
    expect(await textEmbedding(await ModelGraphs.open(model))).toEqual(reference);
    expect(lines()).toHaveLength(1);
  });

  it('a truncated vision .bin is caught by its size, before any graph uses it', async () => {
    const graphs = await ModelGraphs.open(model);
    const graph = await graphs.path(clsProjectionGraph);
    const bin = path.join(graphs.dir, 'vision.bin');
    const [good, graphHash, size] = [await sha256OfFile(bin), await sha256OfFile(graph), statSync(bin).size];
    truncateSync(bin, size - 64);
    const lines = captureStderr();
    expect(await (await ModelGraphs.open(model)).path(clsProjectionGraph)).toBe(graph);
    expect(lines()).toEqual([`falip: ${bin}: corrupt cache entry (${size - 64} bytes, ${size} written), rebuilding\n`]);
    expect([await sha256OfFile(bin), await sha256OfFile(graph)]).toEqual([good, graphHash]);
  });

  it('a large file is re-hashed only when its mtime moved: a flip is caught, a touch is not an error', async () => {
    const graphs = await ModelGraphs.open(model);
    const graph = await graphs.path(clsProjectionGraph);
    const bin = path.join(graphs.dir, 'vision.bin');
    expect(statSync(bin).size).toBeGreaterThan(1 << 20);
    const good = await sha256OfFile(bin);
    const lines = captureStderr();
    const later = new Date(Date.now() + 5000);
    utimesSync(bin, later, later);
    await (await ModelGraphs.open(model)).path(clsProjectionGraph);
    expect(lines()).toEqual([]);
    // The manifest now records the new mtime, so the next run trusts the file without hashing.
    expect(JSON.parse(readFileSync(`${bin}.manifest.json`, 'utf8')).mtimeMs).toBe(statSync(bin).mtimeMs);
    flipByte(bin, 123_456);
    expect(await (await ModelGraphs.open(model)).path(clsProjectionGraph)).toBe(graph);
    expect(lines()).toEqual([
      `falip: ${bin}: corrupt cache entry (sha256 differs from the one recorded when it was written), rebuilding\n`,
    ]);
    expect(await sha256OfFile(bin)).toBe(good);
  });

  it('a damaged manifest is a damaged entry', async () => {
    const graphs = await ModelGraphs.open(model);
    const index = path.join(graphs.dir, 'text.index.json');
    await graphs.path(textGraph);
    writeFileSync(`${index}.manifest.json`, '{"size":');
    const lines = captureStderr();
    expect(await textEmbedding(await ModelGraphs.open(model))).toEqual(reference);
    expect(lines()).toEqual([`falip: ${index}: corrupt cache entry (unreadable checksum manifest), rebuilding\n`]);
  });

  it('a damaged entry whose checkpoint is gone names the folder to delete', async () => {
    const dir = await copyTinyModel(dirs.root(), 'vanishing');
    const vanishing = { ...model, sourceDir: dir, cacheDir: path.join(dirs.root(), 'cache-vanishing') };
    const first = await ModelGraphs.open(vanishing);
    await first.path(textGraph);
    const reopened = await ModelGraphs.open(vanishing);
    flipByte(path.join(first.dir, 'text.bin'), 5000);
    renameSync(path.join(dir, 'model.safetensors'), path.join(dir, 'moved.safetensors'));
    captureStderr();
    expect(await userErrorMessage(reopened.path(textGraph))).toBe(
      `${path.join(first.dir, 'text.bin')}: corrupt cache entry that cannot be rebuilt (${path.join(dir, 'model.safetensors')}: not found); delete ${first.dir}`,
    );
  });

  it('a corrupt source-hash.json is recomputed, never trusted', async () => {
    const memo = path.join(model.cacheDir, 'source-hash.json');
    const stored = JSON.parse(readFileSync(memo, 'utf8'));
    writeFileSync(memo, JSON.stringify({ ...stored, sha256: 'f'.repeat(63) }));
    expect((await ModelGraphs.open(model)).sha256).toBe(tiny.sha256);
    expect(JSON.parse(readFileSync(memo, 'utf8'))).toEqual(stored);
    writeFileSync(memo, '{"file"');
    expect((await ModelGraphs.open(model)).sha256).toBe(tiny.sha256);
  });
});

describe('checkWeightsIndex', () => {
  const entry = { shape: [2, 3], offset: 64, length: 24, elemType: 1 };
  it('accepts an index the .bin can serve and says why otherwise', () => {
    expect(checkWeightsIndex({ w: entry }, 88)).toEqual({ w: entry });
    expect(checkWeightsIndex({ w: entry }, 87)).toBe('weights index: w ends past the 87-byte weights file');
    expect(checkWeightsIndex({ w: { ...entry, length: 12 } }, 88)).toBe(
      'weights index: w has 12 bytes for shape [2, 3]',
    );
    expect(checkWeightsIndex({ w: { ...entry, elemType: 99 } }, 88)).toBe('weights index: w has unknown dtype 99');
    expect(checkWeightsIndex([], 88)).toBe('weights index is not a tensor table');
  });
});
