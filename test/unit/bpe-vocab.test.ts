import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, byteLevelVocab, clipVocabFromBpeGz, vocabFiles } from '../../src/model/bpe-vocab.js';

import { CLIP_BPE_GZ as BPE_GZ } from '../helpers/fixtures.js';

describe('BYTE_TO_CHAR', () => {
  it('maps the 256 bytes to 256 distinct characters', () => {
    expect([...BYTE_TO_CHAR.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(new Set(BYTE_TO_CHAR.values()).size).toBe(256);
  });

  it('maps printable ASCII to itself and shifts space and control bytes past U+00FF', () => {
    for (let b = 0x21; b <= 0x7e; b++) expect(BYTE_TO_CHAR.get(b)).toBe(String.fromCharCode(b));
    // GPT-2's table: bytes 0..32 are the first non-printable ones, so they take U+0100..U+0120.
    expect(BYTE_TO_CHAR.get(0)).toBe('\u0100');
    expect(BYTE_TO_CHAR.get(0x20)).toBe('\u0120');
    expect(BYTE_TO_CHAR.get(0xad)).toBe('\u0143');
  });

  it('iterates printable bytes first, as CLIP orders its vocabulary', () => {
    const order = [...BYTE_TO_CHAR.keys()];
    expect(order.slice(0, 3)).toEqual([0x21, 0x22, 0x23]);
    expect(order[188]).toBe(0);
  });
});

describe('byteLevelVocab', () => {
  it('has 514 ids: bytes, word-final bytes, SOT, EOT', () => {
    const { vocab, merges } = byteLevelVocab();
    expect(Object.keys(vocab)).toHaveLength(514);
    expect(new Set(Object.values(vocab)).size).toBe(514);
    expect(merges).toEqual([]);
    expect(vocab['!']).toBe(0);
    expect(vocab['!</w>']).toBe(256);
    expect(vocab['<|startoftext|>']).toBe(512);
    expect(vocab['<|endoftext|>']).toBe(513);
  });
});

describe('clipVocabFromBpeGz', () => {
  it('builds the 49408-id OpenAI CLIP vocabulary', async () => {
    const { vocab, merges } = await clipVocabFromBpeGz(BPE_GZ);
    expect(Object.keys(vocab)).toHaveLength(49408);
    expect(merges).toHaveLength(48894);
    expect(vocab['<|startoftext|>']).toBe(49406);
    expect(vocab['<|endoftext|>']).toBe(49407);
    // Known ids of OpenAI CLIP: "a</w>" and "photo</w>" ("a photo" → 320, 1125).
    expect(vocab['a</w>']).toBe(320);
    expect(vocab['photo</w>']).toBe(1125);
    expect(vocab[merges[0]!.replace(' ', '')]).toBe(512);
  });
});

describe('vocabFiles', () => {
  it('writes vocab.json as an object and merges.txt with a version header', () => {
    const files = vocabFiles({ vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] });
    expect(JSON.parse(files.vocabJson)).toEqual({ a: 0, b: 1, ab: 2 });
    expect(files.mergesTxt).toBe('#version: 0.2\na b\n');
  });
});
