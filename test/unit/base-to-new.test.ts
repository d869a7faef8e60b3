/**
 * Base-to-new generalisation against hand-computed cases: which labels are base and new, how each
 * half is relabelled, H = 2BN/(B+N) as a derived column, and a row over several prompt sets (seeds)
 * shown as their mean and sample standard deviation.
 */
import { describe, expect, it } from 'vitest';
import { isDataColumn } from '../../src/experiments/run-json.js';
import { parseTableConfig } from '../../src/experiments/table-config.js';
import type { EvalRecord } from '../../src/report/records.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { buildResultsTable, derive, type TableSpec } from '../../src/report/results-table.js';
import { subsetItems, subsetLabels, subsetOfSplitKey, subsetSplitKey } from '../../src/tasks/shared/class-subsets.js';
import { UserError } from '../../src/util/errors.js';

describe('class subsets', () => {
  it('base is the first ⌈n/2⌉ sorted labels, new the rest', () => {
    expect(subsetLabels(5, 'base')).toEqual({ from: 0, to: 3 });
    expect(subsetLabels(5, 'new')).toEqual({ from: 3, to: 5 });
    expect(subsetLabels(4, 'base')).toEqual({ from: 0, to: 2 });
    expect(subsetLabels(4, 'new')).toEqual({ from: 2, to: 4 });
    // OxfordPets has 37 classes: 19 base, 18 new; ImageNet 1000: 500 and 500.
    expect(subsetLabels(37, 'base')).toEqual({ from: 0, to: 19 });
    expect(subsetLabels(37, 'new')).toEqual({ from: 19, to: 37 });
    expect(subsetLabels(1, 'new')).toEqual({ from: 1, to: 1 });
    expect(subsetLabels(7, 'all')).toEqual({ from: 0, to: 7 });
  });

  it('keeps the items of one half, in order, relabelled 0..k−1', () => {
    const items = [4, 0, 2, 3, 1, 2].map((label, i) => ({ id: `i${i}`, label }));
    expect(subsetItems(items, 5, 'base')).toEqual([
      { id: 'i1', label: 0 },
      { id: 'i2', label: 2 },
      { id: 'i4', label: 1 },
      { id: 'i5', label: 2 },
    ]);
    expect(subsetItems(items, 5, 'new')).toEqual([
      { id: 'i0', label: 1 },
      { id: 'i3', label: 0 },
    ]);
    expect(subsetItems(items, 5, 'all')).toEqual(items);
    // The input is not changed.
    expect(items[0]).toEqual({ id: 'i0', label: 4 });
  });

  it('names a half in the records’ split and reads it back', () => {
    expect(subsetSplitKey('oxford_pets/test', 'base')).toBe('oxford_pets/test/base');
    expect(subsetSplitKey('oxford_pets/test', 'all')).toBe('oxford_pets/test');
    expect(subsetOfSplitKey('oxford_pets/test/new')).toBe('new');
    expect(subsetOfSplitKey('oxford_pets/test')).toBe('all');
  });
});

describe('H and the mean', () => {
  it('H = 2BN/(B+N): the papers’ zero-shot CLIP average 69.34 / 74.22 gives 71.70', () => {
    expect(derive('harmonic_mean', [69.34, 74.22])).toBeCloseTo((2 * 69.34 * 74.22) / (69.34 + 74.22), 12);
    expect(derive('harmonic_mean', [69.34, 74.22]).toFixed(2)).toBe('71.70');
    expect(derive('harmonic_mean', [50, 100])).toBeCloseTo(66.6666666667, 8);
    expect(derive('harmonic_mean', [0, 80])).toBe(0);
    expect(derive('mean', [50, 100, 30])).toBe(60);
  });
});

/** `n` records of one cell whose first `k` are correct. */
function cell(row: string, split: string, n: number, k: number): EvalRecord[] {
  return Array.from({ length: n }, (_, i) => ({ row, split, id: `i${i}`, pred: i, correct: i < k }));
}

describe('a base-to-new table', () => {
  const spec: TableSpec = {
    title: 'base-to-new',
    columns: [
      { key: 'pets:base', label: 'pets base', data: 'pets/test/base' },
      { key: 'pets:new', label: 'pets new', data: 'pets/test/new' },
      { key: 'pets:H', label: 'pets H', derive: { kind: 'harmonic_mean', of: ['pets:base', 'pets:new'] } },
    ],
    rows: [
      { key: 'clip', label: 'CLIP', paper: { 'pets:base': 91.17, 'pets:new': 97.26 } },
      { key: 'coop', label: 'CoOp', members: ['coop@s1', 'coop@s2', 'coop@s3'] },
    ],
    footnotes: [],
  };
  // clip: base 6/10, new 8/10. coop seeds: base 5/10, 7/10, 9/10; new 4/10, 4/10, and seed 3 has none.
  const records = [
    ...cell('clip', 'pets/test/base', 10, 6),
    ...cell('clip', 'pets/test/new', 10, 8),
    ...cell('coop@s1', 'pets/test/base', 10, 5),
    ...cell('coop@s2', 'pets/test/base', 10, 7),
    ...cell('coop@s3', 'pets/test/base', 10, 9),
    ...cell('coop@s1', 'pets/test/new', 10, 4),
    ...cell('coop@s2', 'pets/test/new', 10, 4),
  ];
  const table = buildResultsTable(spec, records, { seed: 1 });
  const at = (row: string, column: string) =>
    table.rows.find((r) => r.key === row)!.cells.find((c) => c.column === column)!;

  it('derives H from the row’s base and new cells, ours and the paper’s', () => {
    const h = at('clip', 'pets:H');
    expect(h.ours!.value).toBeCloseTo((2 * 60 * 80) / 140, 10);
    expect(h.ours!.ci).toBeNull();
    expect(h.paper).toBeCloseTo((2 * 91.17 * 97.26) / (91.17 + 97.26), 10);
    expect(h.delta).toBeCloseTo(68.57 - 94.12, 1);
  });

  it('averages the seeds with their sample standard deviation, and H of the means', () => {
    const base = at('coop', 'pets:base');
    // mean(50, 70, 90) = 70; sd = sqrt(((−20)² + 0 + 20²)/2) = 20.
    expect(base.ours).toMatchObject({ value: 70, ci: null, spread: { runs: 3, of: 3 } });
    expect(base.ours!.spread!.sd).toBeCloseTo(20, 10);
    const fresh = at('coop', 'pets:new');
    expect(fresh.ours).toMatchObject({ value: 40, spread: { sd: 0, runs: 2, of: 3 } });
    expect(at('coop', 'pets:H').ours!.value).toBeCloseTo((2 * 70 * 40) / 110, 10);
    expect(at('coop', 'pets:base').paired).toBeNull();
  });

  it('prints sd after a seeds row’s mean and says what it is', () => {
    const md = renderMarkdown(table);
    expect(md).toContain('| CoOp | 70.0 sd 20.0 | 40.0 sd 0.0 (2 of 3) | 50.9 |');
    expect(md).toContain('standard deviation across sets (n − 1');
  });

  it('says once on the row label, not in each cell, that a custom row has no paper number', () => {
    const withheld = buildResultsTable(
      { ...spec, rows: [{ key: 'clip', label: 'CLIP', paper: {}, paperWithheld: true }] },
      records,
      { seed: 1 },
    );
    const line = renderMarkdown(withheld)
      .split('\n')
      .find((l) => l.startsWith('| CLIP'));
    expect(line).toBe('| CLIP (custom: paper n/a) | 60.0 ±30.0 | 80.0 ±25.0 | 68.6 |');
  });
});

describe('table configs with halves and derived columns', () => {
  const base = {
    name: 'b2n',
    title: 'b2n',
    task: 'classification',
    rows: [{ key: 'clip', label: 'CLIP', methods: ['plain'], prompts: ['coop-{dataset}-s1', 'coop-{dataset}-s2'] }],
  };
  const where = () => 'b2n.yaml';

  it('keys a half’s column by its records’ split and a derived column by its own key', () => {
    const cfg = parseTableConfig(
      {
        ...base,
        columns: [
          { data: 'oxford_pets/test', classes: 'base' },
          { data: 'oxford_pets/test', classes: 'new' },
          { key: 'pets-H', harmonic_mean: ['oxford_pets/test/base:top1', 'oxford_pets/test/new:top1'] },
        ],
      },
      where,
    );
    expect(cfg.columns.map((c) => c.key)).toEqual([
      'oxford_pets/test/base:top1',
      'oxford_pets/test/new:top1',
      'pets-H',
    ]);
    const [b] = cfg.columns.filter(isDataColumn);
    expect(b).toMatchObject({ data: 'oxford_pets/test', classes: 'base', metric: 'top1' });
    expect(cfg.columns[2]).toMatchObject({
      derive: 'harmonic_mean',
      of: ['oxford_pets/test/base:top1', 'oxford_pets/test/new:top1'],
    });
    expect(cfg.rows[0]!.prompts).toEqual(['coop-{dataset}-s1', 'coop-{dataset}-s2']);
  });

  it('refuses a derived column over a later or unknown column, one that names a split, and an unknown half', () => {
    const errorOf = (columns: unknown[]) => {
      try {
        parseTableConfig({ ...base, columns }, where);
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        return (e as Error).message;
      }
      throw new Error('parsed');
    };
    expect(errorOf([{ data: 'oxford_pets/test' }, { key: 'h', harmonic_mean: ['oxford_pets/test:top1', 'x'] }])).toBe(
      "b2n.yaml: columns[1].harmonic_mean: 'x' is not an earlier column's key",
    );
    expect(
      errorOf([
        { data: 'oxford_pets/test' },
        { data: 'oxford_pets/test', classes: 'base' },
        { key: 'h', data: 'oxford_pets/test', mean: ['oxford_pets/test:top1', 'oxford_pets/test/base:top1'] },
      ]),
    ).toBe('b2n.yaml: columns[2].data: a derived column (mean) reads no records of its own');
    expect(errorOf([{ data: 'oxford_pets/test', classes: 'half' }])).toMatch(/^b2n\.yaml: columns\[0\]/);
  });
});
