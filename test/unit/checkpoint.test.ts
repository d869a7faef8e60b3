import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { archConfig, toHfConfig } from '../../src/model/clip-config.js';
import { expectedShapes } from '../../src/model/expected-shapes.js';
import { randomWeights, writeModelFolder } from '../../src/model/random-weights.js';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { numel, type Tensor, type WeightMap } from '../../src/model/tensor.js';
import { escapeRegExp, userErrorMessage } from '../helpers/errors.js';

const config = archConfig('tiny', 514);
const vocabFiles = { vocabJson: '{"a": 0}\n', mergesTxt: '#version: 0.2\n' };

let root: string;
let seed1: string;
let weights1: WeightMap;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'falip-checkpoint-'));
  seed1 = join(root, 'seed1');
  weights1 = randomWeights(config, 1);
  await writeModelFolder(seed1, config, weights1, vocabFiles);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the seed-1 folder whose safetensors holds `tensors` instead. */
async function folderWith(name: string, tensors: WeightMap): Promise<string> {
  const dir = join(root, name);
  await cp(seed1, dir, { recursive: true });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

/** The one-line UserError message of loading `dir`. */
const loadError = (dir: string): Promise<string> => userErrorMessage(loadCheckpoint(dir));

function concatRows(...parts: Tensor[]): Tensor {
  const data = new Float32Array(parts.reduce((n, t) => n + t.data.length, 0));
  let at = 0;
  for (const t of parts) {
    data.set(t.data, at);
    at += t.data.length;
  }
  return { shape: [parts.reduce((n, t) => n + t.shape[0]!, 0), ...parts[0]!.shape.slice(1)], data };
}

function transposed(t: Tensor): Tensor {
  const [rows, cols] = t.shape as [number, number];
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c]!;
  return { shape: [cols, rows], data };
}

/** The seed-1 weights renamed by hand to the OpenAI / open_clip convention. */
function toOpenAi(hf: WeightMap): WeightMap {
  const get = (name: string): Tensor => hf.get(name)!;
  const out: WeightMap = new Map([
    ['visual.class_embedding', get('vision_model.embeddings.class_embedding')],
    ['visual.positional_embedding', get('vision_model.embeddings.position_embedding.weight')],
    ['visual.conv1.weight', get('vision_model.embeddings.patch_embedding.weight')],
    ['visual.ln_pre.weight', get('vision_model.pre_layrnorm.weight')],
    ['visual.ln_pre.bias', get('vision_model.pre_layrnorm.bias')],
    ['visual.ln_post.weight', get('vision_model.post_layernorm.weight')],
    ['visual.ln_post.bias', get('vision_model.post_layernorm.bias')],
    ['visual.proj', transposed(get('visual_projection.weight'))],
    ['token_embedding.weight', get('text_model.embeddings.token_embedding.weight')],
    ['positional_embedding', get('text_model.embeddings.position_embedding.weight')],
    ['ln_final.weight', get('text_model.final_layer_norm.weight')],
    ['ln_final.bias', get('text_model.final_layer_norm.bias')],
    ['text_projection', transposed(get('text_projection.weight'))],
    ['logit_scale', get('logit_scale')],
  ]);
  const towers = [
    ['visual.transformer', 'vision_model', config.vision.numLayers],
    ['transformer', 'text_model', config.text.numLayers],
  ] as const;
  for (const [openai, hfTower, layers] of towers) {
    for (let i = 0; i < layers; i++) {
      const o = `${openai}.resblocks.${i}`;
      const h = `${hfTower}.encoder.layers.${i}`;
      for (const kind of ['weight', 'bias']) {
        const qkv = ['q_proj', 'k_proj', 'v_proj'].map((p) => get(`${h}.self_attn.${p}.${kind}`));
        out.set(`${o}.attn.in_proj_${kind}`, concatRows(...qkv));
        out.set(`${o}.attn.out_proj.${kind}`, get(`${h}.self_attn.out_proj.${kind}`));
        out.set(`${o}.ln_1.${kind}`, get(`${h}.layer_norm1.${kind}`));
        out.set(`${o}.ln_2.${kind}`, get(`${h}.layer_norm2.${kind}`));
        out.set(`${o}.mlp.c_fc.${kind}`, get(`${h}.mlp.fc1.${kind}`));
        out.set(`${o}.mlp.c_proj.${kind}`, get(`${h}.mlp.fc2.${kind}`));
      }
    }
  }
  return out;
}

function expectSameWeights(actual: WeightMap, expected: WeightMap): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, t] of expected) {
    const a = actual.get(name)!;
    expect(a.shape, name).toEqual(t.shape);
    expect(
      Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      ),
      name,
    ).toBe(true);
  }
}

describe('randomWeights', () => {
  it('creates every expected tensor with its shape, deterministically per seed', () => {
    const shapes = expectedShapes(config);
    expect(weights1.size).toBe(shapes.size);
    for (const [name, shape] of shapes) {
      expect(weights1.get(name)?.shape, name).toEqual(shape);
      expect(weights1.get(name)!.data.length).toBe(numel(shape));
    }
    // 12 vision + 4 text layers × 16 tensors, 3 + 2 embeddings, 3 norms × 2, 2 projections, logit_scale.
    expect(shapes.size).toBe(16 * 16 + 5 + 6 + 2 + 1);
    expectSameWeights(randomWeights(config, 1), weights1);
    expect(randomWeights(config, 2).get('visual_projection.weight')!.data).not.toEqual(
      weights1.get('visual_projection.weight')!.data,
    );
  });

  it('initialises with the documented statistics', () => {
    const stats = (name: string): { mean: number; std: number } => {
      const d = weights1.get(name)!.data;
      const mean = d.reduce((s, x) => s + x, 0) / d.length;
      return { mean, std: Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / d.length) };
    };
    expect(weights1.get('logit_scale')!.data[0]).toBeCloseTo(Math.log(100), 6);
    expect(stats('vision_model.encoder.layers.3.layer_norm1.weight').mean).toBeCloseTo(1, 1);
    expect(stats('vision_model.encoder.layers.3.layer_norm1.weight').std).toBeLessThan(0.05);
    // Linear weights: std 1/√fan_in (fc1: fan_in 64 → 0.125); q/k larger by the QK gain.
    expect(stats('vision_model.encoder.layers.3.mlp.fc1.weight').std).toBeCloseTo(1 / 8, 2);
    expect(stats('vision_model.encoder.layers.3.self_attn.q_proj.weight').std).toBeGreaterThan(
      stats('vision_model.encoder.layers.3.self_attn.v_proj.weight').std * 1.2,
    );
    // Patch embedding: fan_in 3·16·16 = 768.
    expect(stats('vision_model.embeddings.patch_embedding.weight').std).toBeCloseTo(1 / Math.sqrt(768), 3);
  });
});

describe('loadCheckpoint', () => {
  it('returns the written tensors and config, and the sha256 of model.safetensors', async () => {
    const ckpt = await loadCheckpoint(seed1);
    expect(ckpt.config).toEqual(config);
    expectSameWeights(ckpt.weights, weights1);
    const bytes = await readFile(join(seed1, 'model.safetensors'));
    expect(ckpt.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(JSON.parse(await readFile(join(seed1, 'config.json'), 'utf8'))).toEqual(toHfConfig(config));
    expect(await readFile(join(seed1, 'vocab.json'), 'utf8')).toBe(vocabFiles.vocabJson);
    expect(await readFile(join(seed1, 'merges.txt'), 'utf8')).toBe(vocabFiles.mergesTxt);
  });

  it('gives the same sha256 for the same seed and a different one for another seed', async () => {
    const again = join(root, 'seed1-again');
    const other = join(root, 'seed2');
    await writeModelFolder(again, config, randomWeights(config, 1), vocabFiles);
    await writeModelFolder(other, config, randomWeights(config, 2), vocabFiles);
    const [a, b, c] = await Promise.all([seed1, again, other].map(loadCheckpoint));
    expect(b!.sha256).toBe(a!.sha256);
    expect(c!.sha256).not.toBe(a!.sha256);
  });

  it('loads an OpenAI-named checkpoint to the identical HF tensors', async () => {
    const dir = await folderWith('openai', toOpenAi(weights1));
    const raw = await readSafetensors(join(dir, 'model.safetensors'));
    expect(raw.has('visual.transformer.resblocks.0.attn.in_proj_weight')).toBe(true);
    expectSameWeights((await loadCheckpoint(dir)).weights, weights1);
  });

  it('strips a model. prefix and defaults a missing logit_scale to ln 100', async () => {
    const prefixed: WeightMap = new Map(
      [...weights1].filter(([n]) => n !== 'logit_scale').map(([n, t]) => [`model.${n}`, t]),
    );
    const ckpt = await loadCheckpoint(await folderWith('prefixed', prefixed));
    expect(ckpt.weights.get('logit_scale')!.data[0]).toBeCloseTo(Math.log(100), 6);
    expect(ckpt.weights.get('logit_scale')!.shape).toEqual([]);
    expectSameWeights(ckpt.weights, weights1);
  });

  it('EXPECTED FAILURE: a missing tensor is named with the file', async () => {
    const name = 'vision_model.encoder.layers.10.self_attn.k_proj.bias';
    const dir = await folderWith('missing', new Map([...weights1].filter(([n]) => n !== name)));
    const message = await loadError(dir);
    expect(message).toContain(join(dir, 'model.safetensors'));
    expect(message).toContain(`missing tensor ${name}`);
  });

  it('EXPECTED FAILURE: a wrong shape names the tensor, expected and actual shapes', async () => {
    const name = 'vision_model.encoder.layers.2.mlp.fc1.weight';
    const bad = new Map(weights1);
    bad.set(name, { shape: [128, 64], data: new Float32Array(128 * 64) });
    const message = await loadError(await folderWith('shape', bad));
    expect(message).toContain(`tensor ${name} has shape [128, 64], expected [256, 64]`);
  });

  it('EXPECTED FAILURE: token embedding rows that disagree with vocab_size', async () => {
    const bad = new Map(weights1);
    bad.set('text_model.embeddings.token_embedding.weight', { shape: [49408, 64], data: new Float32Array(49408 * 64) });
    const message = await loadError(await folderWith('vocab', bad));
    expect(message).toMatch(/token_embedding\.weight has 49408 rows but config\.json text_config\.vocab_size is 514/);
  });

  it('EXPECTED FAILURE: missing model.safetensors, missing or corrupt config.json', async () => {
    const noWeights = join(root, 'no-weights');
    await cp(seed1, noWeights, { recursive: true });
    await rm(join(noWeights, 'model.safetensors'));
    expect(await loadError(noWeights)).toBe(`${join(noWeights, 'model.safetensors')}: not found`);

    const corrupt = join(root, 'corrupt-config');
    await cp(seed1, corrupt, { recursive: true });
    await writeFile(join(corrupt, 'config.json'), '{"vision_config": ');
    expect(await loadError(corrupt)).toMatch(new RegExp(`^${escapeRegExp(join(corrupt, 'config.json'))}: `));

    const notClip = join(root, 'not-clip');
    await cp(seed1, notClip, { recursive: true });
    await writeFile(join(notClip, 'config.json'), '{"model_type": "bert"}');
    expect(await loadError(notClip)).toBe(
      `${join(notClip, 'config.json')}: missing vision_config/text_config (not a CLIPConfig)`,
    );

    expect(await loadError(join(root, 'nowhere'))).toBe(`${join(root, 'nowhere', 'config.json')}: not found`);
  });
});
