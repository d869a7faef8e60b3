import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteLevelVocab, clipVocabFromBpeGz, vocabFiles, type BpeVocab } from '../../src/model/bpe-vocab.js';
import { cleanText } from '../../src/model/text-clean.js';
import { ClipTokenizer } from '../../src/model/tokenizer.js';
import { UserError } from '../../src/util/errors.js';

import { CLIP_BPE_GZ, TOKENIZER_CASES } from '../helpers/fixtures.js';

interface ReferenceCase {
  text: string;
  ids: number[];
}

let dir: string;

async function writeVocab(name: string, v: BpeVocab): Promise<{ vocabPath: string; mergesPath: string }> {
  const files = vocabFiles(v);
  const vocabPath = path.join(dir, `${name}-vocab.json`);
  const mergesPath = path.join(dir, `${name}-merges.txt`);
  await writeFile(vocabPath, files.vocabJson);
  await writeFile(mergesPath, files.mergesTxt);
  return { vocabPath, mergesPath };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'falip-tokenizer-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ClipTokenizer with the OpenAI CLIP vocabulary', () => {
  let tokenizer: ClipTokenizer;
  let cases: ReferenceCase[];

  beforeAll(async () => {
    const { vocabPath, mergesPath } = await writeVocab('clip', await clipVocabFromBpeGz(CLIP_BPE_GZ));
    tokenizer = await ClipTokenizer.fromFiles(vocabPath, mergesPath);
    const lines = (await readFile(TOKENIZER_CASES, 'utf8')).split('\n');
    cases = lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ReferenceCase);
  });

  it('reports the special ids and size', () => {
    expect(tokenizer.sotId).toBe(49406);
    expect(tokenizer.eotId).toBe(49407);
    expect(tokenizer.vocabSize).toBe(49408);
  });

  it('reproduces every reference case exactly (77-id context, as the reference)', () => {
    expect(cases.length).toBeGreaterThan(30);
    for (const c of cases) {
      expect(c.ids.length).toBeLessThanOrEqual(77);
      expect({ text: c.text, ids: tokenizer.encode(c.text) }).toEqual({ text: c.text, ids: c.ids });
    }
  });

  it('truncates a long text to the context length with EOT last', () => {
    const ids = tokenizer.encode('cat '.repeat(200));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(49406);
    expect(ids[76]).toBe(49407);
    expect(ids.slice(1, 76).every((id) => id === 2368)).toBe(true);
    expect(tokenizer.encode('cat '.repeat(200), 10)).toEqual([49406, ...Array(8).fill(2368), 49407]);
  });

  it('maps literal special tokens in the text to their ids', () => {
    expect(tokenizer.encode('<|endoftext|>')).toEqual([49406, 49407, 49407]);
  });
});

describe('ClipTokenizer with the byte-level vocabulary', () => {
  it('encodes "a cat" as one id per byte, the last byte of each word word-final', async () => {
    const { vocabPath, mergesPath } = await writeVocab('bytes', byteLevelVocab());
    const tokenizer = await ClipTokenizer.fromFiles(vocabPath, mergesPath);
    // Printable ASCII byte b has id b - 33; its word-final form 256 more.
    const byteId = (c: string): number => c.charCodeAt(0) - 33;
    expect(tokenizer.encode('a cat')).toEqual([
      512,
      256 + byteId('a'),
      byteId('c'),
      byteId('a'),
      256 + byteId('t'),
      513,
    ]);
    expect(tokenizer.vocabSize).toBe(514);
  });

  it('tokenizes text outside ASCII, one id per UTF-8 byte', () => {
    const { vocab, merges } = byteLevelVocab();
    const tokenizer = new ClipTokenizer(vocab, merges);
    // "é" is C3 A9: two printable Latin-1 bytes, ids from their position in GPT-2's table.
    expect(tokenizer.encode('é')).toEqual([512, 0xc3 - 0xae + 94 + 12, 256 + 0xa9 - 0xa1 + 94, 513]);
  });
});

describe('ClipTokenizer BAD CALL', () => {
  it('rejects a missing vocab file naming it', async () => {
    const { mergesPath } = await writeVocab('missing', byteLevelVocab());
    const vocabPath = path.join(dir, 'no-such-vocab.json');
    const err = await ClipTokenizer.fromFiles(vocabPath, mergesPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(vocabPath);
  });

  it('rejects a vocab without <|endoftext|> naming the file', async () => {
    const { vocab, merges } = byteLevelVocab();
    delete vocab['<|endoftext|>'];
    const { vocabPath, mergesPath } = await writeVocab('no-eot', { vocab, merges });
    const err = await ClipTokenizer.fromFiles(vocabPath, mergesPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(vocabPath);
    expect((err as Error).message).toContain('<|endoftext|>');
  });

  it('rejects a malformed merges file naming it', async () => {
    const { vocabPath, mergesPath } = await writeVocab('bad-merges', byteLevelVocab());
    await writeFile(mergesPath, '#version: 0.2\na b c\n');
    const err = await ClipTokenizer.fromFiles(vocabPath, mergesPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(mergesPath);
  });

  it('throws when a symbol is missing from the vocabulary', () => {
    const { vocab } = byteLevelVocab();
    delete vocab['t</w>'];
    expect(() => new ClipTokenizer(vocab, []).encode('cat')).toThrow(/"t<\/w>" is not in the vocabulary/);
  });
});

describe('cleanText', () => {
  it('unescapes HTML twice, uncurls quotes, collapses whitespace and lowercases', () => {
    expect(cleanText('  AT&amp;amp;T\t\u2018Quoted\u2019  \u201cText\u201d\n')).toBe('at&t \'quoted\' "text"');
  });

  it('composes to NFC', () => {
    expect(cleanText('Cafe\u0301')).toBe('caf\u00e9');
  });

  it('treats whitespace as Python does: U+001F is a space, U+FEFF is not', () => {
    expect(cleanText('a\u001fb\ufeff')).toBe('a b\ufeff');
  });
});
