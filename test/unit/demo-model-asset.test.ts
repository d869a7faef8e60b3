import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipVocabFromBpeGz, vocabFiles } from '../../src/model/bpe-vocab.js';
import {
  DEMO_MODEL,
  DEMO_MODEL_DIR,
  DEMO_MODEL_SHA256,
  ensureDemoModel,
  listModels,
} from '../../src/model/model-registry.js';
import { readSafetensors } from '../../src/model/safetensors.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { sha256OfFile } from '../../src/util/sha256.js';
import { REPO } from '../helpers/cli.js';
import { CLIP_BPE_GZ } from '../helpers/fixtures.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

/**
 * The shipped demo CLIP (assets/demo-model, trained by tools/train-demo-model): the README's and the
 * tests' numbers are this file's, so its bytes are pinned here, and what makes it small (half floats,
 * an embedding table trained only where the demo's words are) must be what falip reads.
 */
const WEIGHTS = path.join(DEMO_MODEL_DIR, 'model.safetensors');

describe('the shipped demo model', () => {
  it('is the trained checkpoint the README reports, byte for byte', async () => {
    expect(DEMO_MODEL).toBe('demo');
    expect(DEMO_MODEL_DIR).toBe(path.join(REPO, 'assets', 'demo-model'));
    expect(await sha256OfFile(WEIGHTS)).toBe('34560458fa5c201bcfb1476d53f9f28574b3dac7874ca4d9334e6b731d318a6c');
    expect(DEMO_MODEL_SHA256).toBe('34560458fa5c201bcfb1476d53f9f28574b3dac7874ca4d9334e6b731d318a6c');
    const record = JSON.parse(readFileSync(path.join(DEMO_MODEL_DIR, 'training.json'), 'utf8')) as {
      model_sha256: string;
    };
    expect(record.model_sha256).toBe(DEMO_MODEL_SHA256);
  });

  it('stores every tensor as F16, which falip reads (the file stays ~8 MB)', async () => {
    const raw = readFileSync(WEIGHTS);
    const header = JSON.parse(raw.subarray(8, 8 + Number(raw.readBigUInt64LE(0))).toString('utf8')) as Record<
      string,
      { dtype?: string }
    >;
    const dtypes = new Set(
      Object.entries(header)
        .filter(([k]) => k !== '__metadata__')
        .map(([, v]) => v.dtype),
    );
    expect([...dtypes]).toEqual(['F16']);
    expect(raw.length).toBeLessThan(9_000_000);
    const weights = await readSafetensors(WEIGHTS);
    const table = weights.get('text_model.embeddings.token_embedding.weight')!;
    expect(table.shape).toEqual([49408, 64]);
    expect(table.data).toBeInstanceOf(Float32Array);
  });

  it("has CLIP's real BPE vocabulary, and the rows its demo sentences use are the trained ones", async () => {
    // vocab.json and merges.txt are exactly what falip writes from CLIP's own bpe_simple_vocab_16e6.
    const clip = vocabFiles(await clipVocabFromBpeGz(CLIP_BPE_GZ));
    expect(readFileSync(path.join(DEMO_MODEL_DIR, 'vocab.json'), 'utf8')).toBe(clip.vocabJson);
    expect(readFileSync(path.join(DEMO_MODEL_DIR, 'merges.txt'), 'utf8')).toBe(clip.mergesTxt);
    // The tokenizer falip opens for `--model demo` reads the asset folder; its ids are CLIP's
    // (test/fixtures/clip-bpe/tokenizer_cases.jsonl: "a photo of a cat" from CLIP's tokenizer).
    const tokenizer = await ClipTokenizer.fromFiles(
      path.join(DEMO_MODEL_DIR, 'vocab.json'),
      path.join(DEMO_MODEL_DIR, 'merges.txt'),
    );
    expect(tokenizer.encode('a photo of a cat')).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    const table = (await readSafetensors(WEIGHTS)).get('text_model.embeddings.token_embedding.weight')!;
    const row = (id: number) => table.data.subarray(id * 64, (id + 1) * 64);
    const used = new Set(tokenizer.encode('a photo of the red circle on the left'));
    for (const id of used)
      expect(
        row(id).some((x) => x !== 0),
        `token ${id}`,
      ).toBe(true);
    // A word no caption has was never trained: its row is zero (which is why the file compresses).
    const unused = tokenizer.encode('cat')[1]!;
    expect(used.has(unused)).toBe(false);
    expect(row(unused).every((x) => x === 0)).toBe(true);
  });
});

describe('registering the demo model on first use', () => {
  useTempFalipDirs('falip-demo-register-');

  it('lets processes that start together wait for the first one (shards from an empty models folder)', async () => {
    // Three at once: the first registers, the others wait under the name's lock and find it there.
    await Promise.all([ensureDemoModel(), ensureDemoModel(), ensureDemoModel()]);
    const listed = await listModels();
    expect(listed.map((l) => l.name)).toEqual([DEMO_MODEL]);
    expect(listed[0]).toMatchObject({ record: { sha256: DEMO_MODEL_SHA256, source: DEMO_MODEL_DIR } });
  });
});
