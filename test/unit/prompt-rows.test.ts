/**
 * The small pure pieces of learned prompts: how FALIP's bias is widened to the prompt tokens (hand-made
 * planes), the prompts' graph inputs, and how `falip eval --prompts` multiplies rows.
 */
import { describe, expect, it } from 'vitest';
import { rowsPerPromptSet } from '../../src/experiments/row-prompts.js';
import type { RowConfig } from '../../src/experiments/run-json.js';
import { archConfig } from '../../src/model/clip-config.js';
import { classContext, textPromptInputs } from '../../src/model/graphs/prompted-text-graph.js';
import { promptedAttention, visionPromptInputs } from '../../src/model/graphs/vision-prompts.js';
import { TASKS } from '../../src/tasks/registry.js';
import { learnedPromptText } from '../../src/tasks/shared/text-classifier.js';
import { userErrorMessage } from '../helpers/errors.js';

describe('promptedAttention', () => {
  // Two planes (heads) of a 2-token bias: [[1, 2], [3, 4]] and [[0, 5], [0, 0]].
  const bias = Float32Array.from([1, 2, 3, 4, 0, 5, 0, 0]);
  const gate = Float32Array.from([1, 0]);

  it("'zero' pads every plane with zero prompt rows and columns", () => {
    const wide = promptedAttention({ bias, gate }, 2, { tokens: 1, mask: 'zero' });
    expect(Array.from(wide.bias)).toEqual([1, 2, 0, 3, 4, 0, 0, 0, 0, /**/ 0, 5, 0, 0, 0, 0, 0, 0, 0]);
    expect(wide.gate).toBe(gate);
  });

  it("'cls' gives the CLS row's prompt columns each plane's peak, nothing else", () => {
    const wide = promptedAttention({ bias, gate }, 2, { tokens: 2, mask: 'cls' });
    expect(Array.from(wide.bias)).toEqual([
      ...[1, 2, 4, 4, /**/ 3, 4, 0, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 0, 0],
      ...[0, 5, 5, 5, /**/ 0, 0, 0, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 0, 0],
    ]);
  });
});

describe('prompt inputs', () => {
  const cfg = archConfig('tiny', 514);
  const D = cfg.text.hiddenSize;
  const tensor = (shape: number[], start: number) => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i),
  });

  it('lay the deep prompts out per layer with a gate of 1 exactly where a checkpoint has one', () => {
    const p = {
      trainer: 'ivlp' as const,
      nCtx: 2,
      ctx: tensor([2, D], 0),
      deepText: new Map([[2, tensor([2, D], 1000)]]),
      vision: { nCtx: 3, shallow: tensor([3, 64], 0), deep: new Map([[5, tensor([3, 64], 7)]]) },
    };
    const text = textPromptInputs(cfg.text, p, 't');
    expect(Array.from(text.deepGate)).toEqual([0, 0, 1, 0]);
    expect(text.deep.subarray(2 * 2 * D, 3 * 2 * D)).toEqual(p.deepText.get(2)!.data);
    expect(text.deep.subarray(0, 2 * 2 * D).every((x) => x === 0)).toBe(true);
    expect(classContext(text, 7, D)).toBe(p.ctx.data);
    const vision = visionPromptInputs(cfg.vision, p.vision, 'v', 'cls');
    expect(Array.from(vision.deepGate)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(vision.deep.subarray(5 * 3 * 64, 6 * 3 * 64)).toEqual(p.vision.deep.get(5)!.data);
    expect(vision).toMatchObject({ key: 'v', tokens: 3, mask: 'cls' });
  });

  it('give each class of a class-specific context its own rows', () => {
    const ctx = tensor([3, 4, D], 0);
    const text = textPromptInputs(cfg.text, { trainer: 'coop', nCtx: 4, ctx, deepText: new Map() }, 'csc');
    expect(text.classes).toBe(3);
    expect(classContext(text, 1, D)).toEqual(ctx.data.subarray(4 * D, 8 * D));
    expect(() => classContext(text, 3, D)).toThrow(RangeError);
  });

  it("write CoOp's prompt text: n X's, the class name with spaces, a full stop", () => {
    expect(learnedPromptText(4, 'sea_lion')).toBe('X X X X sea lion.');
    expect(learnedPromptText(1, 'cat')).toBe('X cat.');
  });
});

describe('rowsPerPromptSet', () => {
  const classification = TASKS.find((t) => t.name === 'classification')!;
  const rec = TASKS.find((t) => t.name === 'rec')!;
  const rows: RowConfig[] = [
    { key: 'plain', label: 'plain', methods: [{ name: 'plain', params: {} }], paper: {}, options: {} },
    { key: 'falip', label: 'falip', methods: [{ name: 'falip', params: {} }], paper: {}, options: {} },
  ];

  it('repeats every row per set, keyed <row>@<set>; none keeps the base rows as they are', () => {
    const out = rowsPerPromptSet(rows, classification, ['none', 'coop', 'coop'], 'cls');
    expect(out.map((r) => [r.key, r.label, r.prompts, r.prompt_mask])).toEqual([
      ['plain', 'plain', undefined, undefined],
      ['falip', 'falip', undefined, undefined],
      ['plain@coop@cls', 'plain @ coop (mask cls)', 'coop', 'cls'],
      ['falip@coop@cls', 'falip @ coop (mask cls)', 'coop', 'cls'],
    ]);
    expect(rowsPerPromptSet(rows, classification, ['coop'], 'zero').map((r) => r.key)).toEqual([
      'plain@coop',
      'falip@coop',
    ]);
    expect(rowsPerPromptSet(rows, classification, [], undefined)).toEqual(rows);
  });

  it('refuses a mask without prompts, an unknown mask, a bad name, and tasks without class texts', async () => {
    await userErrorMessage(
      () => rowsPerPromptSet(rows, classification, [], 'cls'),
      '--prompt-mask: applies to rows with --prompts',
    );
    await userErrorMessage(
      () => rowsPerPromptSet(rows, classification, ['a'], 'all'),
      '--prompt-mask all: expected one of zero, cls',
    );
    await userErrorMessage(
      () => rowsPerPromptSet(rows, classification, ['a/b'], undefined),
      '--prompts a/b: not a prompt set name',
    );
    await userErrorMessage(
      () => rowsPerPromptSet(rows, rec, ['coop'], undefined),
      '--prompts: rec datasets take no learned prompts',
    );
  });
});
