import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configHash } from '../../src/model/model-identity.js';
import { ensureTinyModel, importModel, listModels, TINY_MODEL } from '../../src/model/model-registry.js';
import { modelRecordPath, readModelRecord, resolveModel } from '../../src/model/model-store.js';
import { writeRandomModel } from '../../src/model/random-model.js';
import { UserError } from '../../src/util/errors.js';
import { REPO, runFalip } from '../helpers/cli.js';
import { escapeRegExp, userErrorMessage } from '../helpers/errors.js';
import {
  copyTinyModel,
  editConfig,
  removeTinyModels,
  tinyModel,
  type FolderEdit,
  type TinyModel,
} from '../helpers/tiny-model.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-model-import-');
let tiny: TinyModel;

beforeAll(async () => {
  tiny = await tinyModel();
});
afterAll(() => removeTinyModels());

// biome-ignore lint/suspicious/noExplicitAny: tests reach into config.json's nested fields freely
type Json = Record<string, any>;

/** A copy of the tiny model folder, changed by `edit`. */
const modelCopy = (edit?: FolderEdit): Promise<string> => copyTinyModel(dirs.root(), edit);

const importError = (dir: string, name: string): Promise<string> => userErrorMessage(importModel(dir, name));

describe('import cross-checks the config against the weights', () => {
  it('a 6-layer config over 12-layer weights is refused, naming both counts', async () => {
    const dir = await modelCopy((d) => editConfig(d, (c) => (c.vision_config.num_hidden_layers = 6)));
    expect(await importError(dir, 'six')).toBe(
      `${path.join(dir, 'model.safetensors')}: the weights have 12 vision layers but config.json vision_config.num_hidden_layers is 6`,
    );
    expect(await readModelRecord('six')).toBeUndefined();
  });

  it('and the reverse: more layers in the config than in the weights', async () => {
    const dir = await modelCopy((d) => editConfig(d, (c) => (c.text_config.num_hidden_layers = 5)));
    expect(await importError(dir, 'five')).toMatch(
      /the weights have 4 text layers but config\.json text_config\.num_hidden_layers is 5$/,
    );
  });

  it('a width or vocabulary the weights do not have names both numbers', async () => {
    const wide = await modelCopy((d) => editConfig(d, (c) => (c.text_config.hidden_size = 128)));
    expect(await importError(wide, 'wide')).toMatch(
      /token_embedding\.weight has 64 columns but config\.json text_config\.hidden_size is 128$/,
    );
    const mlp = await modelCopy((d) => editConfig(d, (c) => (c.vision_config.intermediate_size = 512)));
    expect(await importError(mlp, 'mlp')).toMatch(
      /layers\.0\.mlp\.fc1\.weight has 256 rows but config\.json vision_config\.intermediate_size is 512$/,
    );
    const vocab = await modelCopy((d) => editConfig(d, (c) => (c.text_config.vocab_size = 49408)));
    expect(await importError(vocab, 'vocab')).toMatch(
      /token_embedding\.weight has 514 rows but config\.json text_config\.vocab_size is 49408$/,
    );
  });
});

describe('import parses the tokenizer files', () => {
  it('garbage vocab.json is refused at import, not at encode', async () => {
    const notJson = await modelCopy((d) => writeFileSync(path.join(d, 'vocab.json'), 'garbage'));
    expect(await importError(notJson, 'g1')).toMatch(
      new RegExp(`^${escapeRegExp(path.join(notJson, 'vocab.json'))}: not valid JSON`),
    );
    const tooSmall = await modelCopy((d) => writeFileSync(path.join(d, 'vocab.json'), '{"a": 0}'));
    expect(await importError(tooSmall, 'g2')).toBe(
      `${path.join(tooSmall, 'vocab.json')}: vocabulary has no <|startoftext|> token`,
    );
    expect(await readModelRecord('g1')).toBeUndefined();
  });

  it("a vocabulary whose size is not the token embedding's rows names both", async () => {
    const dir = await modelCopy((d) => {
      const vocab = JSON.parse(readFileSync(path.join(d, 'vocab.json'), 'utf8')) as Record<string, number>;
      vocab['extra</w>'] = 514;
      writeFileSync(path.join(d, 'vocab.json'), JSON.stringify(vocab));
    });
    expect(await importError(dir, 'extra')).toBe(
      `${path.join(dir, 'vocab.json')}: 515 tokens with ids up to 514, but config.json text_config.vocab_size is 514 (ids 0..513)`,
    );
  });

  it('a merge that makes a symbol without an id is refused', async () => {
    const dir = await modelCopy((d) => writeFileSync(path.join(d, 'merges.txt'), '#version: 0.2\nc at</w>\n'));
    expect(await importError(dir, 'merge')).toMatch(
      /merges\.txt: line 2: merge "c at<\/w>" makes a symbol .*vocab\.json has no id for$/,
    );
  });
});

describe('names and records', () => {
  it('records the identity; reusing a name is refused without --force and names the existing source', async () => {
    const first = await modelCopy();
    const rec = await importModel(first, 'reuse');
    expect(rec.config_hash).toBe(configHash(tiny.config));
    expect(rec.arch).toBe('tiny');
    expect(JSON.parse(readFileSync(modelRecordPath('reuse'), 'utf8')).config_hash).toBe(rec.config_hash);

    const second = await modelCopy();
    expect(await importError(second, 'reuse')).toBe(
      `model 'reuse' is already registered from ${first}; pass --force to replace it`,
    );
    expect((await readModelRecord('reuse'))!.source).toBe(first);
    const replaced = await importModel(second, 'reuse', { force: true });
    expect(replaced.source).toBe(second);
    expect((await resolveModel('reuse')).sourceDir).toBe(second);
  });

  it('a truncated model.json is one line saying to re-import', async () => {
    await importModel(await modelCopy(), 'truncated');
    const file = modelRecordPath('truncated');
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 40));
    expect(await userErrorMessage(resolveModel('truncated'))).toBe(
      `${file}: corrupt model record (not valid JSON); re-import it: falip model import DIR --name truncated --force`,
    );
    expect(await listModels()).toContainEqual({ name: 'truncated', problem: `${file}: not valid JSON` });
  });

  it('an edited model.json that still parses fails its checksum', async () => {
    await importModel(await modelCopy(), 'edited');
    const file = modelRecordPath('edited');
    const rec = JSON.parse(readFileSync(file, 'utf8')) as Json;
    rec.sha256 = '0'.repeat(64);
    writeFileSync(file, JSON.stringify(rec));
    await expect(resolveModel('edited')).rejects.toThrow(
      `${file}: corrupt model record (its checksum does not match its contents)`,
    );
  });

  it('the tiny model repairs a damaged model.json', async () => {
    await ensureTinyModel();
    const file = modelRecordPath(TINY_MODEL);
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '{"name": "tiny"');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await ensureTinyModel();
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([
        `falip: ${file}: corrupt model record (not valid JSON), regenerating the tiny model\n`,
      ]);
    } finally {
      stderr.mockRestore();
    }
    expect(readFileSync(file, 'utf8')).toBe(good);
  });

  it('a registered model whose checkpoint folder is gone is one line', async () => {
    const dir = await modelCopy();
    await importModel(dir, 'gone');
    renameSync(dir, `${dir}-moved`);
    await expect(resolveModel('gone')).rejects.toThrow(
      `model 'gone': its checkpoint folder ${dir} is gone; re-import it: falip model import DIR --name gone --force`,
    );
  });
});

describe('the models folder', () => {
  it('FALIP_MODELS pointing at a file, or below one, is a UserError', async () => {
    const saved = process.env.FALIP_MODELS;
    const file = path.join(dirs.root(), 'a-file');
    writeFileSync(file, 'x');
    try {
      process.env.FALIP_MODELS = file;
      await expect(importModel(tiny.dir, 'x')).rejects.toThrow(
        `${file}: the models folder is a file (set by FALIP_MODELS); expected a folder`,
      );
      await expect(listModels()).rejects.toBeInstanceOf(UserError);
      process.env.FALIP_MODELS = path.join(file, 'models');
      expect(await userErrorMessage(importModel(tiny.dir, 'x'))).toMatch(
        /a-file.*: a part of this path is a file, not a folder$/,
      );
    } finally {
      process.env.FALIP_MODELS = saved;
    }
  });

  it('two processes creating the tiny model at once from an empty models folder both succeed', async () => {
    const models = path.join(dirs.root(), 'race-models');
    mkdirSync(models);
    const script = "import { ensureTinyModel } from './src/model/model-registry.ts'; await ensureTinyModel();";
    const run = () =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: REPO,
          env: { ...process.env, FALIP_MODELS: models },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stderr }));
      });
    const results = await Promise.all([run(), run()]);
    for (const r of results) expect(r, r.stderr).toEqual({ status: 0, stderr: '' });
    const saved = process.env.FALIP_MODELS;
    process.env.FALIP_MODELS = models;
    try {
      const rec = await readModelRecord(TINY_MODEL);
      expect(rec!.source).toBe(path.join(models, TINY_MODEL, 'checkpoint'));
      expect(readdirSync(rec!.source).sort()).toEqual(['config.json', 'merges.txt', 'model.safetensors', 'vocab.json']);
      // The generator's bytes are fixed by the seed, so the registered hash is the one a fresh import computes.
      const again = path.join(dirs.root(), 'tiny-again');
      await writeRandomModel({ arch: 'tiny', seed: 0, out: again });
      expect(rec!.sha256).toBe((await importModel(again, 'tiny-again')).sha256);
    } finally {
      process.env.FALIP_MODELS = saved;
    }
  });
});

describe('through the CLI', () => {
  it('falip model import over a 12-layer checkpoint with a 6-layer config exits 2 with one stderr line', async () => {
    const dir = await modelCopy((d) => editConfig(d, (c) => (c.vision_config.num_hidden_layers = 6)));
    const r = await runFalip(['model', 'import', dir, '--name', 'cli-six'], {
      FALIP_MODELS: path.join(dirs.root(), 'cli-models'),
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `falip: ${path.join(dir, 'model.safetensors')}: the weights have 12 vision layers but config.json vision_config.num_hidden_layers is 6\n`,
    );
    rmSync(dir, { recursive: true });
  });
});
