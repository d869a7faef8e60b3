import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseString } from 'fast-csv';
import { describe, expect, it } from 'vitest';
import { configHash } from '../../src/report/provenance.js';
import type { EvalRecord } from '../../src/report/records.js';
import { renderCsv } from '../../src/report/render-csv.js';
import { renderMarkdown, renderTerminal } from '../../src/report/render-markdown.js';
import { buildResultsTable, type TableSpec } from '../../src/report/results-table.js';
import { keyDifferences, openRunFolder } from '../../src/experiments/run-folder.js';
import { UserError } from '../../src/util/errors.js';
import { runDetailsFixture, runKeyFixture } from '../helpers/run-key.js';

/** `n` records of one cell whose first `k` items (ids i00, i01, …) are correct. */
function cell(row: string, split: string, n: number, k: number): EvalRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    row,
    split,
    id: `i${String(i).padStart(2, '0')}`,
    pred: i,
    correct: i < k,
  }));
}

const spec: TableSpec = {
  title: 'Table 1: REC',
  columns: [
    { key: 'testA', label: 'RefCOCO testA' },
    { key: 'testB', label: 'RefCOCO testB' },
  ],
  rows: [
    { key: 'clip', label: 'CLIP crop', paper: { testA: 58.0, testB: 30.0 } },
    { key: 'falip', label: 'FALIP gold', paper: { testA: 80.5, testB: 41.0, avg: 60.9 } },
  ],
  baselineRow: 'clip',
  footnotes: ['Proposals from the ReCLIP release.'],
  average: true,
};

// clip: testA 6/10 = 60 %, testB 1/4 = 25 %; falip: testA 8/10 = 80 % on the same ids, testB not imported.
const records = [...cell('clip', 'testA', 10, 6), ...cell('clip', 'testB', 4, 1), ...cell('falip', 'testA', 10, 8)];
const table = buildResultsTable(spec, records, { seed: 1, statuses: { falip: { testB: 'not imported' } } });

function cellOf(row: string, column: string) {
  const found = table.rows.find((r) => r.key === row)!.cells.find((c) => c.column === column);
  if (!found) throw new Error(`no cell ${row}/${column}`);
  return found;
}

describe('buildResultsTable', () => {
  it('computes accuracy, interval, n and delta against the paper', () => {
    const a = cellOf('clip', 'testA');
    expect(a.ours?.value).toBeCloseTo(60, 10);
    expect(a.ours?.n).toBe(10);
    expect(a.delta).toBeCloseTo(2.0, 10);
    expect(a.ours!.ci![0]).toBeLessThan(60);
    expect(a.ours!.ci![1]).toBeGreaterThan(60);
    expect(cellOf('clip', 'testB').ours?.value).toBeCloseTo(25, 10);
    expect(cellOf('falip', 'testA').delta).toBeCloseTo(-0.5, 10);
  });

  it('states the delta without float noise (100 − 83.6 is 16.4, not 16.400000000000006)', () => {
    const one: TableSpec = {
      title: 't',
      columns: [{ key: 'c', label: 'c' }],
      rows: [{ key: 'r', label: 'r', paper: { c: 83.6 } }],
      footnotes: [],
    };
    expect(buildResultsTable(one, cell('r', 'c', 5, 5)).rows[0]!.cells[0]!.delta).toBe(16.4);
  });

  it('marks empty cells with the caller’s status and keeps the paper number', () => {
    const b = cellOf('falip', 'testB');
    expect(b).toMatchObject({ ours: null, status: 'not imported', paper: 41.0, delta: null });
    const unrun = buildResultsTable(spec, [], {}).rows[0]!.cells[0]!;
    expect(unrun.status).toBe('not run');
  });

  it('averages over columns, preferring the paper’s own average', () => {
    expect(table.columns.map((c) => c.key)).toEqual(['testA', 'testB', 'avg']);
    const clipAvg = cellOf('clip', 'avg');
    expect(clipAvg.ours?.value).toBeCloseTo(42.5, 10);
    expect(clipAvg.paper).toBeCloseTo(44.0, 10);
    expect(clipAvg.delta).toBeCloseTo(-1.5, 10);
    const falipAvg = cellOf('falip', 'avg');
    expect(falipAvg).toMatchObject({ ours: null, status: 'not imported', paper: 60.9 });
  });

  it('compares with the baseline item by item', () => {
    const paired = cellOf('falip', 'testA').paired!;
    expect(paired.n).toBe(10);
    expect(paired.diff).toBeCloseTo(20, 10);
    expect(paired.ci[0]).toBeGreaterThanOrEqual(0); // falip never loses an item to the baseline
    expect(cellOf('clip', 'testA').paired).toBeNull();
  });
});

describe('renderers', () => {
  it('Markdown shows ours, paper, delta, statuses, footnotes and the paired table', () => {
    const md = renderMarkdown(table);
    expect(md).toContain('| Method | RefCOCO testA (n=10) | RefCOCO testB (n=4) | Avg (n=14) |');
    expect(md).toMatch(
      /\| CLIP crop \| 60\.0 ±\d+\.\d \(paper 58\.0, Δ \+2\.0\) \| 25\.0 ±\d+\.\d \(paper 30\.0, Δ -5\.0\) \| 42\.5 \(paper 44\.0, Δ -1\.5\) \|/,
    );
    expect(md).toContain('*not imported* (paper 41.0)');
    expect(md).toContain('1. Proposals from the ReCLIP release.');
    expect(md).toContain('2. ± is half the width of the 95% percentile bootstrap interval');
    expect(md).toContain('#### Paired difference vs CLIP crop');
    // Only columns with a comparison appear: testB has no FALIP records, the average no interval.
    expect(md).toContain('| Method | RefCOCO testA |\n');
    expect(md).toMatch(/\| FALIP gold \| \+20\.0 \[\+\d+\.\d, \+\d+\.\d\] n=10 \|\n/);
  });

  it('terminal text aligns columns and carries the same numbers', () => {
    const lines = renderTerminal(table).split('\n');
    const header = lines.find((l) => l.startsWith('Method'))!;
    const clip = lines.find((l) => l.startsWith('CLIP crop'))!;
    expect(clip.indexOf('25.0')).toBe(header.indexOf('RefCOCO testB'));
    expect(lines.join('\n')).toContain('not imported (paper 41.0)');
  });

  it('CSV parses back with fast-csv to the same numbers', async () => {
    const csv = await renderCsv(table);
    const rows = await new Promise<Record<string, string>[]>((resolve, reject) => {
      const out: Record<string, string>[] = [];
      parseString(csv, { headers: true })
        .on('data', (row: Record<string, string>) => out.push(row))
        .on('error', reject)
        .on('end', () => resolve(out));
    });
    expect(rows).toHaveLength(6);
    expect(Object.keys(rows[0]!)).toEqual([
      'row',
      'column',
      'ours',
      'ci_lo',
      'ci_hi',
      'n',
      'paper',
      'delta',
      'status',
      'paired_diff',
      'paired_lo',
      'paired_hi',
    ]);
    const clipA = rows.find((r) => r.row === 'clip' && r.column === 'testA')!;
    expect(Number(clipA.ours)).toBeCloseTo(60, 10);
    expect(Number(clipA.ci_lo)).toBe(cellOf('clip', 'testA').ours!.ci![0]);
    expect(Number(clipA.n)).toBe(10);
    expect(Number(clipA.delta)).toBeCloseTo(2, 10);
    const falipA = rows.find((r) => r.row === 'falip' && r.column === 'testA')!;
    expect(Number(falipA.paired_diff)).toBeCloseTo(20, 10);
    const falipB = rows.find((r) => r.row === 'falip' && r.column === 'testB')!;
    expect(falipB).toMatchObject({ ours: '', status: 'not imported', paper: '41' });
  });
});

describe('configHash', () => {
  it('is the sha256 of the key-sorted JSON, independent of key order', () => {
    const expected = createHash('sha256')
      .update('{"a":1,"b":{"c":[2,{"x":1,"y":2}],"d":3}}')
      .digest('hex')
      .slice(0, 12);
    expect(configHash({ b: { d: 3, c: [2, { y: 2, x: 1 }] }, a: 1 })).toBe(expected);
  });
});

describe('openRunFolder', () => {
  const config = runKeyFixture(3);
  const details = runDetailsFixture('Table 1');

  it('creates a run, then resumes it with the same configuration', async () => {
    const root = await mkdtemp(join(tmpdir(), 'falip-runs-'));
    const first = await openRunFolder({ root, name: 'table1', runKey: config, details });
    expect(first.resumed).toBe(false);
    expect(first.dir).toBe(join(root, `table1-${configHash(config)}`));
    await first.records.append(cell('clip', 'testA', 1, 1)[0]!);
    await first.writeText('table.md', '# t\n');
    // One writer per folder: a second open while the first holds it is refused, naming the holder.
    await expect(openRunFolder({ root, name: 'table1', runKey: config, details })).rejects.toThrow(
      new RegExp(`in use by pid ${process.pid} on `),
    );
    await first.close();

    const runJson = JSON.parse(await readFile(join(first.dir, 'run.json'), 'utf8'));
    expect(runJson).toMatchObject({
      name: 'table1',
      config_hash: first.configHash,
      key: config,
      details: { title: 'Table 1' },
      seeds: { 'sampling.sample_seed': 3 },
    });
    expect(runJson.provenance.node).toBe(process.version);

    const { sampling, splits, rows, model, task } = config;
    const reordered = { sampling, splits, rows, model, task };
    const second = await openRunFolder({
      root,
      name: 'table1',
      runKey: reordered,
      details: runDetailsFixture('Table 1, renamed'),
    });
    expect(second.resumed).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(second.records.has('clip', 'testA', 'i00')).toBe(true);
    const resumedJson = JSON.parse(await readFile(join(first.dir, 'run.json'), 'utf8'));
    expect(resumedJson.resumed_with).toHaveLength(1);
    // Details are for readers: a new title is kept without starting a new run.
    expect(resumedJson.details).toEqual(runDetailsFixture('Table 1, renamed'));
    await second.close();

    const changed = await openRunFolder({ root, name: 'table1', runKey: runKeyFixture(4), details });
    expect(changed.resumed).toBe(false);
    expect(changed.dir).not.toBe(first.dir);
    expect(changed.records.all()).toHaveLength(0);
    await changed.close();
  });

  it('names where two run keys differ, list entries by their key', () => {
    const a = {
      model: { sha256: 'x' },
      columns: [
        { key: 'demo/val', content: 'c1' },
        { key: 'demo/test', content: 'c2' },
      ],
      rows: [{ key: 'r' }],
    };
    const b = {
      model: { sha256: 'y' },
      columns: [
        { key: 'demo/val', content: 'c9' },
        { key: 'demo/test', content: 'c2' },
      ],
      rows: [],
    };
    expect(keyDifferences(a, b)).toEqual(['model.sha256', 'columns[demo/val].content', 'rows (1 vs 0 entries)']);
    expect(keyDifferences(a, structuredClone(a))).toEqual([]);
  });

  it('refuses an --out folder that holds another configuration', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'falip-out-')), 'mine');
    await (await openRunFolder({ name: 'table1', runKey: config, details, out })).close();
    const other = openRunFolder({ name: 'table1', runKey: runKeyFixture(4), details, out });
    await expect(other).rejects.toBeInstanceOf(UserError);
    await expect(openRunFolder({ name: 'table1', runKey: runKeyFixture(4), details, out })).rejects.toThrow(
      `${out}/run.json: holds a different run (key hash ${configHash(config)}, this one ${configHash(runKeyFixture(4))}; they differ in sampling.sample_seed); use another --out`,
    );
    // The refusals released the lock: the folder opens again for its own run.
    await (await openRunFolder({ name: 'table1', runKey: config, details, out })).close();
  });
});

describe('renderTerminal in a narrow terminal', () => {
  it('cuts a wide table into column groups, each with the method column, all cells kept', () => {
    const wide = renderTerminal(table);
    const narrow = renderTerminal(table, 60);
    expect(Math.max(...wide.split('\n').map((l) => l.length))).toBeGreaterThan(60);
    const gridLines = narrow
      .split('\n')
      .filter((l) => l.startsWith('Method') || l.startsWith('CLIP') || l.startsWith('FALIP'));
    expect(gridLines.length).toBeGreaterThanOrEqual(6);
    expect(gridLines.every((l) => l.length <= 60)).toBe(true);
    // Every cell of the wide table is still printed.
    for (const cell of wide
      .split('\n')[3]!
      .split(/\s{2,}/)
      .slice(1))
      expect(narrow).toContain(cell);
  });
});
