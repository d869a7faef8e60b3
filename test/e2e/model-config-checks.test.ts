import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/model/checkpoint.js';
import { importModel } from '../../src/model/model-registry.js';
import { userErrorMessage } from '../helpers/errors.js';
import {
  copyTinyModel,
  editConfig,
  removeTinyModels,
  tinyModel,
  type ConfigJson,
  type TinyModel,
} from '../helpers/tiny-model.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-model-config-');
let tiny: TinyModel;

beforeAll(async () => {
  tiny = await tinyModel();
});
afterAll(() => removeTinyModels());

/** A copy of the tiny model folder with config.json edited by `edit`. */
const withConfig = (edit: (c: ConfigJson) => void): Promise<string> =>
  copyTinyModel(dirs.root(), (d) => editConfig(d, edit));

const configError = (dir: string): Promise<string> => userErrorMessage(readConfig(path.join(dir, 'config.json')));

describe('config.json sizes are range-checked, naming the file and field', () => {
  it.each([0, -12, 11.5])('vision_config.num_hidden_layers %s', async (layers) => {
    const dir = await withConfig((c) => (c.vision_config.num_hidden_layers = layers));
    expect(await configError(dir)).toBe(
      `${path.join(dir, 'config.json')}: vision_config.num_hidden_layers: must be a positive integer, got ${layers}`,
    );
  });

  it('the same at import, before any weight is read', async () => {
    const dir = await withConfig((c) => (c.text_config.num_hidden_layers = 11.5));
    await expect(importModel(dir, 'fractional')).rejects.toThrow(
      `${path.join(dir, 'config.json')}: text_config.num_hidden_layers: must be a positive integer, got 11.5`,
    );
  });

  it('layer_norm_eps must be finite and > 0', async () => {
    const dir = await withConfig((c) => (c.vision_config.layer_norm_eps = -1));
    expect(await configError(dir)).toBe(
      `${path.join(dir, 'config.json')}: vision_config.layer_norm_eps: must be a finite number > 0, got -1`,
    );
    const zero = await withConfig((c) => (c.text_config.layer_norm_eps = 0));
    expect(await configError(zero)).toMatch(/text_config\.layer_norm_eps: must be a finite number > 0, got 0$/);
  });

  it('every other size too: a string, a missing field, vocab, context, projection', async () => {
    expect(await configError(await withConfig((c) => (c.vision_config.hidden_size = '64')))).toMatch(
      /vision_config\.hidden_size: must be a positive integer, got "64"$/,
    );
    expect(await configError(await withConfig((c) => delete c.vision_config.patch_size))).toMatch(
      /vision_config\.patch_size: missing$/,
    );
    expect(await configError(await withConfig((c) => (c.text_config.vocab_size = -1)))).toMatch(
      /text_config\.vocab_size: must be a positive integer, got -1$/,
    );
    expect(await configError(await withConfig((c) => (c.text_config.max_position_embeddings = 0)))).toMatch(
      /text_config\.max_position_embeddings: must be a positive integer, got 0$/,
    );
    expect(await configError(await withConfig((c) => (c.projection_dim = 1.5)))).toMatch(
      /: projection_dim: must be a positive integer, got 1\.5$/,
    );
  });

  it('image_size a multiple of patch_size, widths multiples of the heads', async () => {
    expect(await configError(await withConfig((c) => (c.vision_config.image_size = 225)))).toMatch(
      /vision_config\.image_size: 225 is not a multiple of patch_size 16$/,
    );
    expect(await configError(await withConfig((c) => (c.text_config.num_attention_heads = 5)))).toMatch(
      /text_config\.hidden_size: 64 is not a multiple of num_attention_heads 5$/,
    );
  });
});

describe('text encodings of config.json, vocab.json, merges.txt', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

  it('a UTF-8 BOM is accepted in all three', async () => {
    const dir = await withConfig(() => undefined);
    for (const f of ['config.json', 'vocab.json', 'merges.txt']) {
      const file = path.join(dir, f);
      writeFileSync(file, Buffer.concat([BOM, readFileSync(file)]));
    }
    expect(await readConfig(path.join(dir, 'config.json'))).toEqual(tiny.config);
    const rec = await importModel(dir, 'with-bom');
    expect(rec.sha256).toBe(tiny.sha256);
  });

  it('Latin-1 (not UTF-8) is refused naming the file', async () => {
    const dir = await withConfig((c) => (c.vision_config.comment = 'é'));
    const config = path.join(dir, 'config.json');
    writeFileSync(config, Buffer.from(readFileSync(config, 'utf8'), 'latin1'));
    expect(await configError(dir)).toBe(`${config}:1: not UTF-8 text (Latin-1 or another encoding?): save it as UTF-8`);

    const other = await withConfig(() => undefined);
    const merges = path.join(other, 'merges.txt');
    writeFileSync(merges, Buffer.from('#version: 0.2\ncaf\xe9 x\n', 'latin1'));
    await expect(importModel(other, 'latin1-merges')).rejects.toThrow(
      `${merges}:2: not UTF-8 text (Latin-1 or another encoding?): save it as UTF-8`,
    );
  });
});
