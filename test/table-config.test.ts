import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnKey, parseTableConfig, readTableConfig, type TableConfig } from '../src/tasks/table-config.js';
import { UserError } from '../src/util/errors.js';

const REPO = path.resolve(import.meta.dirname, '..');
const TABLE1 = path.join(REPO, 'configs', 'table1.yaml');
import { paperCsv } from './helpers/fixtures.js';
const PAPER_CSV = paperCsv('table1_rec');

/** The paper's Table 1 as the CSV has it: "group|method|setting" → column ("refcoco/testA") → number. */
async function readPaperCsv(): Promise<Map<string, Record<string, number>>> {
  const lines = (await readFile(PAPER_CSV, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]!.split(',');
  const out = new Map<string, Record<string, number>>();
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const [group, method, setting] = cells;
    const values: Record<string, number> = {};
    header.forEach((h, i) => {
      const m = /^(refcoco\+?|refcocog)_(\w+)$/.exec(h);
      if (m) values[`${m[1]}/${m[2]}`] = Number(cells[i]);
    });
    out.set(`${group}|${method}|${setting}`, values);
  }
  return out;
}

/** "RedCircle (E+P) prop" → "E+P|RedCircle|prop"; "FALIP gold" → "none|FALIP|gold". */
function csvKeyOfLabel(label: string): string {
  const m = /^(.*?)(?: \((P|E\+P)\))? (gold|prop)$/.exec(label);
  if (!m) throw new Error(`unexpected row label ${label}`);
  return `${m[2] ?? 'none'}|${m[1]}|${m[3]}`;
}

let cfg: TableConfig;
let tmp: string;

beforeAll(async () => {
  cfg = await readTableConfig(TABLE1);
  tmp = await mkdtemp(path.join(tmpdir(), 'falip-tablecfg-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('configs/table1.yaml', () => {
  it('parses, with 18 rows and 8 columns', () => {
    expect(cfg.name).toBe('table1');
    expect(cfg.task).toBe('rec');
    expect(cfg.rows).toHaveLength(18);
    expect(cfg.columns).toHaveLength(8);
    expect(cfg.columns.map(columnKey)).toEqual([
      'refcoco/testA',
      'refcoco/testB',
      'refcoco/val',
      'refcoco+/testA',
      'refcoco+/testB',
      'refcoco+/val',
      'refcocog/test',
      'refcocog/val',
    ]);
    expect(new Set(cfg.rows.map((r) => r.key)).size).toBe(18);
    expect(cfg.rows.some((r) => r.key === cfg.baseline)).toBe(true);
  });

  it('FALIP gold on RefCOCO testA has the paper number 44.2', () => {
    const row = cfg.rows.find((r) => r.label === 'FALIP gold');
    expect(row?.setting).toBe('gold');
    expect(row?.methods).toEqual(['falip']);
    expect(row?.paper['refcoco/testA']).toBe(44.2);
  });

  it('every paper number matches the paper Table 1 (test/fixtures/paper/table1_rec.csv), row for row', async () => {
    const paper = await readPaperCsv();
    expect(paper.size).toBe(18);
    const columns = cfg.columns.map(columnKey);
    const seen = new Set<string>();
    for (const row of cfg.rows) {
      const key = csvKeyOfLabel(row.label);
      const expected = paper.get(key);
      expect(expected, `row ${row.key} (${key}) is not in the CSV`).toBeDefined();
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      // Setting in the label agrees with the row's setting, and P rows subtract.
      expect(key.endsWith(`|${row.setting}`)).toBe(true);
      if (row.methods) expect(row.subtract !== false).toBe(key.startsWith('P|') || key.startsWith('E+P|'));
      // Exactly the 8 columns, each equal to the CSV.
      expect(Object.keys(row.paper).sort()).toEqual([...columns].sort());
      for (const c of columns) expect(row.paper[c], `${row.key} ${c}`).toBe(expected![c]);
    }
    expect(seen.size).toBe(18);
  });
});

describe('table config errors', () => {
  const base = (): Record<string, unknown> => ({
    name: 't',
    title: 'T',
    task: 'rec',
    columns: ['demo/val'],
    rows: [
      { key: 'a', label: 'A', methods: ['falip'] },
      { key: 'b', label: 'B', methods: ['redcircle'] },
    ],
    baseline: 'a',
  });

  async function errorOf(yamlText: string, name: string): Promise<UserError> {
    const file = path.join(tmp, name);
    await writeFile(file, yamlText);
    const err = await readTableConfig(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(file);
    return err as UserError;
  }

  it('a valid minimal config parses (control for the failures below)', () => {
    const c = parseTableConfig(base(), 'x.yaml');
    expect(c.rows.map((r) => r.key)).toEqual(['a', 'b']);
    expect(c.rows[0]!.setting).toBe('gold');
    expect(c.rows[0]!.subtract).toBe(false);
  });

  it('EXPECTED FAILURE: a bad column key → UserError naming the file and the column field', async () => {
    const yaml = ['name: t', 'title: T', 'task: rec', 'columns: [demo/val, refcoco-testA]', 'rows:', '  - { key: a, label: A, methods: [falip] }', ''].join('\n');
    const err = await errorOf(yaml, 'bad-column.yaml');
    expect(err.message).toMatch(/columns\.1/);
    expect(err.message).toMatch(/dataset\/split/);
  });

  it('EXPECTED FAILURE: a duplicate row key → UserError naming the file, rows and the key', async () => {
    const yaml = [
      'name: t',
      'title: T',
      'task: rec',
      'columns: [demo/val]',
      'rows:',
      '  - { key: same, label: A, methods: [falip] }',
      '  - { key: same, label: B, methods: [redcircle] }',
      '',
    ].join('\n');
    const err = await errorOf(yaml, 'dup-row.yaml');
    expect(err.message).toMatch(/rows/);
    expect(err.message).toContain("'same'");
    expect(err.message).toMatch(/duplicate/);
  });

  it('EXPECTED FAILURE: an unknown baseline → UserError naming the file, baseline and the missing row', async () => {
    const yaml = ['name: t', 'title: T', 'task: rec', 'columns: [demo/val]', 'baseline: nope', 'rows:', '  - { key: a, label: A, methods: [falip] }', ''].join('\n');
    const err = await errorOf(yaml, 'bad-baseline.yaml');
    expect(err.message).toMatch(/baseline/);
    expect(err.message).toContain("'nope'");
  });

  it('EXPECTED FAILURE: parseTableConfig names the file it is given for each of these', () => {
    const badCol = { ...base(), columns: ['demo'] };
    const dup = { ...base(), rows: [{ key: 'a', label: 'A', methods: ['falip'] }, { key: 'a', label: 'B', methods: ['falip'] }] };
    const noBase = { ...base(), baseline: 'zzz' };
    for (const [value, field] of [
      [badCol, 'columns.0'],
      [dup, 'rows'],
      [noBase, 'baseline'],
    ] as const) {
      expect(() => parseTableConfig(value, 'cfg/my-table.yaml')).toThrow(UserError);
      expect(() => parseTableConfig(value, 'cfg/my-table.yaml')).toThrow(new RegExp(`^cfg/my-table\\.yaml: ${field.replace('.', '\\.')}`));
    }
  });

  it('EXPECTED FAILURE: a missing file and invalid YAML are UserErrors naming the file', async () => {
    const missing = path.join(tmp, 'nope.yaml');
    await expect(readTableConfig(missing)).rejects.toThrow(UserError);
    await expect(readTableConfig(missing)).rejects.toThrow(missing);
    await errorOf('name: [unclosed\n', 'broken.yaml');
  });
});
