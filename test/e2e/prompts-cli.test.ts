/**
 * `falip prompts import` and `falip prompts list` on the committed checkpoints (test/fixtures/pth), for
 * the tiny model they were written for (seed 3, registered as tiny3) and the built-in tiny model (seed
 * 0: another CLIP of the same widths). In this process (main()), and once through the real CLI: every
 * refusal is one line and exit 2, and writes nothing.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importModel } from '../../src/model/model-registry.js';
import { sha256OfFile } from '../../src/util/sha256.js';
import { expectRefusal, expectUserError, falipInProcess, runFalip } from '../helpers/cli.js';
import { pthFixture } from '../helpers/pth-fixtures.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { tinyModel } from '../helpers/tiny-model.js';

const dirs = useTempFalipDirs('falip-prompts-cli-');
const promptsOf = (model: string) => path.join(process.env.FALIP_MODELS!, model, 'prompts');

beforeAll(async () => {
  await importModel((await tinyModel()).dir, 'tiny3');
});

describe('falip prompts import and list', () => {
  it('registers CoOp, IVLP and MaPLe prompts, says what was compared, and lists them', async () => {
    const coop = await falipInProcess(
      'prompts',
      'import',
      pthFixture('coop.pth.tar-10'),
      '--model',
      'tiny3',
      '--name',
      'coop',
    );
    expect(coop.code, coop.err).toBe(0);
    const sha = await sha256OfFile(pthFixture('coop.pth.tar-10'));
    expect(coop.out).toContain(
      `registered prompts 'coop' for model 'tiny3': coop, n_ctx 4, text depth 1, no vision prompts; epoch 10; checkpoint sha256 ${sha.slice(0, 12)}`,
    );
    // A prompt-only checkpoint holds no frozen tensor to compare: the output says so.
    expect(coop.out).toContain('frozen CLIP tensors compared: none (a prompt-only checkpoint holds none');
    const ivlp = await falipInProcess(
      'prompts',
      'import',
      pthFixture('ivlp.pth.tar-20'),
      '--model',
      'tiny3',
      '--name',
      'ivlp',
    );
    expect(ivlp.code, ivlp.err).toBe(0);
    expect(ivlp.out).toContain('ivlp, n_ctx 2, text depth 3, vision 3 tokens to depth 5; epoch 20');
    expect(ivlp.out).toContain('frozen CLIP tensors compared with the base model: 205');
    const maple = await falipInProcess(
      'prompts',
      'import',
      pthFixture('maple.pth.tar-5'),
      '--model',
      'tiny3',
      '--name',
      'maple',
      '--trainer',
      'maple',
    );
    expect(maple.code, maple.err).toBe(0);
    expect(maple.out).toContain('maple, n_ctx 2, text depth 3, vision 2 tokens to depth 3; epoch 5');

    // The set's own small file: its JSON names the checkpoint, its sha256, epoch and the base weights.
    const info = JSON.parse(await readFile(path.join(promptsOf('tiny3'), 'coop', 'prompts.json'), 'utf8'));
    expect(info).toMatchObject({
      trainer: 'coop',
      nCtx: 4,
      textDepth: 1,
      vision: null,
      checkpoint: { path: pthFixture('coop.pth.tar-10'), sha256: sha, epoch: 10 },
      model: { sha256: (await tinyModel()).sha256 },
      frozenCompared: 0,
    });

    const list = await falipInProcess('prompts', 'list');
    expect(list.code, list.err).toBe(0);
    const lines = list.out.split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['tiny3/coop', 'tiny3/ivlp', 'tiny3/maple']);
    expect(lines[1]).toContain('ivlp, n_ctx 2, text depth 3, vision 3 tokens to depth 5; epoch 20; sha256 ');
    const json = JSON.parse((await falipInProcess('prompts', 'list', '--json')).out) as { name: string }[];
    expect(json.map((l) => l.name)).toEqual(['coop', 'ivlp', 'maple']);
  });

  describe('refusals: one line, exit 2, nothing written', () => {
    const refused = async (args: string[], ...needles: string[]) => {
      const before = existsSync(promptsOf('tiny3')) ? readdirSync(promptsOf('tiny3')).sort() : [];
      const line = expectRefusal(await falipInProcess('prompts', 'import', ...args), ...needles);
      expect(existsSync(promptsOf('tiny3')) ? readdirSync(promptsOf('tiny3')).sort() : []).toEqual(before);
      return line;
    };
    const asX = ['--model', 'tiny3', '--name', 'x'];

    it('a pickle naming os.system', async () => {
      await refused([pthFixture('hostile-stack-global.pth'), ...asX], 'refuses to load global os.system');
      // pickle writes os.system as posix.system on Linux: the same function under its module's name.
      await refused([pthFixture('hostile-reduce.pth'), ...asX], 'refuses to load global posix.system');
    });

    it('a truncated file', async () => {
      const file = path.join(dirs.root(), 'truncated.pth.tar-20');
      writeFileSync(file, (await readFile(pthFixture('ivlp.pth.tar-20'))).subarray(0, 5000));
      await refused([file, ...asX], `${file}: truncated or not a zip file`);
    });

    it('a ctx of the wrong width, a deep prompt for a layer the model lacks', async () => {
      await refused(
        [pthFixture('coop-wide.pth.tar-10'), ...asX],
        "ctx is 48 wide but the base model's text tower is 64 wide",
      );
      await refused(
        [pthFixture('maple-deep.pth.tar-5'), ...asX],
        "prompt_learner.compound_prompts_text.3 is the deep prompt of text layer 4, but the base model's text tower has 4 layers",
      );
    });

    it('a checkpoint of another CLIP', async () => {
      const line = expectRefusal(
        await falipInProcess('prompts', 'import', pthFixture('ivlp.pth.tar-20'), '--model', 'tiny', '--name', 'x'),
        'differs from the base model',
        'the checkpoint was trained on a different CLIP',
      );
      expect(line).toContain('frozen tensor image_encoder.');
      expect(existsSync(promptsOf('tiny'))).toBe(false);
    });

    it('a trainer that does not fit the tensors, a name taken, a reserved name, a missing file', async () => {
      await refused(
        [pthFixture('ivlp.pth.tar-20'), ...asX, '--trainer', 'maple'],
        'is not in the maple layout',
        'look like ivlp',
      );
      await refused(
        [pthFixture('coop.pth.tar-10'), '--model', 'tiny3', '--name', 'coop'],
        "prompt set 'coop' is already registered",
        '--force',
      );
      await refused([pthFixture('coop.pth.tar-10'), '--model', 'tiny3', '--name', 'none'], '--name none: reserved');
      await refused([path.join(dirs.root(), 'nope.pth'), ...asX], 'nope.pth: not found');
    });
  });

  it('through the real CLI: a hostile pickle exits 2 with one line', async () => {
    const r = await runFalip(
      ['prompts', 'import', pthFixture('hostile-stack-global.pth'), '--model', 'tiny3', '--name', 'h'],
      {
        FALIP_MODELS: process.env.FALIP_MODELS,
      },
    );
    expectUserError(r, 'hostile-stack-global.pth: refuses to load global os.system');
  });
});
