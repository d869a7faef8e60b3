/**
 * Every table config in configs/ loads, and every paper number in it equals the paper's table
 * (test/fixtures/paper/*.csv), row for row in the paper's order; plus the config parser's errors.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseString } from 'fast-csv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DOCS_FILE, configDocs } from '../../src/experiments/config-docs.js';
import { isDataColumn } from '../../src/experiments/run-json.js';
import { parseTableConfig, readTableConfig, type TableConfig } from '../../src/experiments/table-config.js';
import { UserError } from '../../src/util/errors.js';
import { userErrorMessage } from '../helpers/errors.js';
import { paperCsv } from '../helpers/fixtures.js';

const CONFIGS = path.resolve(import.meta.dirname, '../..', 'configs');
const CONFIG_FILES = readdirSync(CONFIGS)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** Configs of the user's own tables: no paper numbers to check. */
const OWN_TABLES = ['demo.yaml'];

/** Tables whose paper numbers are in a CSV of their own shape, checked by a test of their own below. */
const OWN_SHAPE = ['base-to-new.yaml'];

/** Which CSV holds a config's numbers, and (for the classification tables, which share one) the model's rows. */
const PAPER_TABLES: Record<string, { csv: string; model?: string }> = {
  'table1.yaml': { csv: 'table1_rec' },
  'table2-classification.yaml': { csv: 'table2_13_classification', model: 'ViT-B/16' },
  'table3-pointcloud.yaml': { csv: 'table3_pointcloud' },
  'table4-unleash.yaml': { csv: 'table4_unleash' },
  'table5-qkv-feature-mask.yaml': { csv: 'table5_qkv_featuremask' },
  'table6-mask-forms.yaml': { csv: 'table6_mask_forms' },
  'table10-alpha.yaml': { csv: 'table10_alpha' },
  'table11-sigma.yaml': { csv: 'table11_sigma' },
  'table12-layers.yaml': { csv: 'table12_layers' },
  'table13-classification-vitl14.yaml': { csv: 'table2_13_classification', model: 'ViT-L/14' },
  'table14-redcircle-enlarge.yaml': { csv: 'table14_redcircle_enlarge' },
};

async function readCsv(name: string): Promise<Record<string, string>[]> {
  const text = await readFile(paperCsv(name), 'utf8');
  return new Promise((resolve, reject) => {
    const rows: Record<string, string>[] = [];
    parseString(text, { headers: true })
      .on('data', (r: Record<string, string>) => rows.push(r))
      .on('end', () => resolve(rows))
      .on('error', reject);
  });
}

/**
 * The config column a CSV header names: `refcoco+_testA` → `refcoco+/testA` (a split), `cub_top5` →
 * the cub column of metric top5, `modelnet40` → the modelnet40 column; `avg` is the average.
 */
function columnOfHeader(cfg: TableConfig, header: string): string | undefined {
  if (header === 'avg') return 'avg';
  const norm = (s: string) => s.replaceAll('-', '_');
  const c = cfg.columns.filter(isDataColumn).find((col) => {
    const [dataset, split] = col.data.split('/') as [string, string];
    return [`${dataset}_${split}`, `${dataset}_${col.metric}`, dataset].map(norm).includes(header);
  });
  return c?.key;
}

describe.each(CONFIG_FILES.filter((f) => !OWN_TABLES.includes(f) && !OWN_SHAPE.includes(f)))('configs/%s', (file) => {
  it("loads, and every paper number equals the paper's table", async () => {
    const cfg = await readTableConfig(path.join(CONFIGS, file));
    const table = PAPER_TABLES[file];
    expect(table, `${file}: which paper table is it?`).toBeDefined();
    const csv = (await readCsv(table!.csv)).filter((r) => table!.model === undefined || r.model === table!.model);
    expect(cfg.rows).toHaveLength(csv.length);
    // Not vacuous: the paper's CSV has rows for this table (else the loop below checks nothing).
    expect(
      csv.length,
      `${file}: ${table!.csv} has no rows${table!.model === undefined ? '' : ` for model ${table!.model}`}`,
    ).toBeGreaterThan(0);
    cfg.rows.forEach((row, i) => {
      const paperRow = csv[i]!;
      const expected: Record<string, number> = {};
      for (const [header, value] of Object.entries(paperRow)) {
        const column = columnOfHeader(cfg, header);
        if (column !== undefined && value !== '') expected[column] = Number(value);
      }
      expect(
        Object.keys(expected).length,
        `${file} row ${row.key}: no CSV column maps to the config's`,
      ).toBeGreaterThan(0);
      expect(row.paper, `${file} row ${row.key} vs the paper's row ${i + 1}`).toEqual(expected);
    });
  });
});

describe('configs/table1.yaml', () => {
  let cfg: TableConfig;
  beforeAll(async () => {
    cfg = await readTableConfig(path.join(CONFIGS, 'table1.yaml'));
  });

  it('has 18 rows over the 8 REC splits; labels say the setting and P/E+P as the rows do', async () => {
    expect(cfg.task).toBe('rec');
    expect(cfg.columns.map((c) => c.key)).toEqual([
      'refcoco/testA',
      'refcoco/testB',
      'refcoco/val',
      'refcoco+/testA',
      'refcoco+/testB',
      'refcoco+/val',
      'refcocog/test',
      'refcocog/val',
    ]);
    const csv = await readCsv('table1_rec');
    cfg.rows.forEach((row, i) => {
      const o = row.options as { setting: string; subtract?: unknown };
      expect(row.label).toContain(csv[i]!.setting);
      expect(o.setting).toBe(csv[i]!.setting);
      expect(o.subtract !== undefined).toBe(csv[i]!.group !== 'none');
      expect((row.methods?.length ?? 0) > 1).toBe(csv[i]!.group === 'E+P');
    });
  });
});

describe('configs/demo.yaml', () => {
  it('loads: several methods, a method with parameters, a composition, an ensemble and subtract, on the demo set', async () => {
    const cfg = await readTableConfig(path.join(CONFIGS, 'demo.yaml'));
    expect(cfg.columns.filter(isDataColumn).map((c) => c.data)).toEqual(['demo/val']);
    expect(cfg.rows.every((r) => Object.keys(r.paper).length === 0)).toBe(true);
    const byKey = new Map(cfg.rows.map((r) => [r.key, r]));
    expect(byKey.get('falip-a1')!.methods).toEqual([{ name: 'falip', params: { alpha: 1 } }]);
    expect(byKey.get('ensemble')!.methods!.map((m) => m.name)).toEqual(['falip', 'blur+falip']);
    expect(byKey.get('falip-p')!.options).toMatchObject({ subtract: { count: 500 } });
  });
});

describe('docs/configs.md', () => {
  it('is what `npm run docs` writes from the schema today (run it after changing a config field)', async () => {
    expect(await readFile(CONFIG_DOCS_FILE, 'utf8')).toBe(await configDocs());
  });

  it('documents every task option and method parameter the parser reads', async () => {
    const docs = await readFile(CONFIG_DOCS_FILE, 'utf8');
    for (const field of ['setting', 'subtract', 'templates', 'view_weights', 'alpha', 'blur_sigma', 'baseline'])
      expect(docs).toContain(`\`${field}\``);
  });
});

describe('table config errors', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'falip-tablecfg-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

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

  /** The error of reading `lines` as a config file: a UserError starting with `file:line: field`. */
  async function errorOf(lines: string[], name: string): Promise<string> {
    const file = path.join(tmp, name);
    await writeFile(file, `${lines.join('\n')}\n`);
    const message = await userErrorMessage(readTableConfig(file));
    expect(message.startsWith(`${file}:`)).toBe(true);
    return message.slice(file.length + 1);
  }

  it('a valid minimal config parses, with the task filling its row options (control for the failures below)', () => {
    const c = parseTableConfig(base(), () => 'x.yaml');
    expect(c.rows.map((r) => r.key)).toEqual(['a', 'b']);
    expect(c.rows[0]!.options).toEqual({ setting: 'gold' });
    expect(c.arch).toBe('vit-b-16');
  });

  it('a bad column key names its line and field', async () => {
    const message = await errorOf(
      [
        'name: t',
        'title: T',
        'task: rec',
        'columns:',
        '  - demo/val',
        '  - refcoco-testA',
        'rows:',
        '  - { key: a, label: A, methods: [falip] }',
      ],
      'bad-column.yaml',
    );
    expect(message).toMatch(/^6: columns\[1\]: .*dataset\/split/);
  });

  it('a mistake names its fix: a method parameter on the row, a misspelt key, a value outside its choices', async () => {
    const head = ['name: t', 'title: T', 'task: rec', 'columns: [demo/val]', 'rows:'];
    expect(
      await errorOf(
        [...head, '  - key: a', '    label: A', '    methods: [falip]', '    alpha: 2'],
        'param-on-row.yaml',
      ),
    ).toBe('9: rows[0]: unknown key "alpha": method parameters go in methods: [{ name: falip, alpha: 2 }]');
    expect(await errorOf(['name: t', 'title: T', 'task: rec', 'colums: [demo/val]', 'rows: []'], 'typo.yaml')).toBe(
      '4: (top level): unknown key "colums": did you mean "columns"?',
    );
    expect(
      await errorOf([...head, '  - key: a', '    label: A', '    methods: [falip]', '    setting: gld'], 'choice.yaml'),
    ).toBe('9: rows[0].setting: expected one of gold, prop, got "gld"');
    expect(
      await errorOf([...head, '  - key: a', '    label: A', '    methods: [falip]', '    colour: red'], 'unknown.yaml'),
    ).toBe(
      '9: rows[0]: unknown key "colour": known: key, label, methods, prompts, prompt_mask, status, paper, setting, subtract',
    );
  });

  it('a duplicate row key names the second row', async () => {
    const message = await errorOf(
      [
        'name: t',
        'title: T',
        'task: rec',
        'columns: [demo/val]',
        'rows:',
        '  - { key: same, label: A, methods: [falip] }',
        '  - { key: same, label: B, methods: [redcircle] }',
      ],
      'dup-row.yaml',
    );
    expect(message).toBe("7: rows[1].key: duplicate key 'same'");
  });

  it('an unknown baseline, method, parameter or parameter value names its line', async () => {
    const head = ['name: t', 'title: T', 'task: rec', 'columns: [demo/val]'];
    expect(
      await errorOf(
        [...head, 'baseline: nope', 'rows:', '  - { key: a, label: A, methods: [falip] }'],
        'bad-baseline.yaml',
      ),
    ).toBe("5: baseline: no row 'nope'");
    expect(
      await errorOf([...head, 'rows:', '  - key: a', '    label: A', '    methods: [falipp]'], 'bad-method.yaml'),
    ).toMatch(/^8: rows\[0\]\.methods\[0\]: unknown method 'falipp'/);
    expect(
      await errorOf(
        [...head, 'rows:', '  - key: a', '    label: A', '    methods:', '      - { name: redcircle, alpha: 0.3 }'],
        'unread-param.yaml',
      ),
    ).toBe("9: rows[0].methods[0]: method 'redcircle' does not read alpha (it reads circle_thickness, enlarge)");
    expect(
      await errorOf(
        [...head, 'rows:', '  - key: a', '    label: A', '    methods:', '      - { name: falip, sigma: -1 }'],
        'bad-value.yaml',
      ),
    ).toBe('9: rows[0].methods[0]: sigma: expected a number above 0');
    expect(
      await errorOf(
        [...head, 'rows:', '  - key: a', '    label: A', '    setting: gold-ish', '    methods: [falip]'],
        'bad-setting.yaml',
      ),
    ).toMatch(/^8: rows\[0\]\.setting: /);
  });

  it('a missing file, a folder and invalid YAML are one-line UserErrors naming the file', async () => {
    const missing = path.join(tmp, 'nope.yaml');
    await expect(readTableConfig(missing)).rejects.toThrow(new UserError(`${missing}: not found`));
    await expect(readTableConfig(tmp)).rejects.toThrow(new UserError(`${tmp}: is a folder, not a file`));
    expect(await errorOf(['name: [unclosed'], 'broken.yaml')).toMatch(/^\d+: not valid YAML/);
  });

  it('a UTF-8 byte-order mark is accepted and Latin-1 text refused', async () => {
    const bom = path.join(tmp, 'bom.yaml');
    await writeFile(
      bom,
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(
          'name: t\ntitle: T\ntask: rec\ncolumns: [demo/val]\nrows:\n  - { key: a, label: A, methods: [falip] }\n',
        ),
      ]),
    );
    expect((await readTableConfig(bom)).name).toBe('t');
    const latin1 = path.join(tmp, 'latin1.yaml');
    await writeFile(latin1, Buffer.from('name: t\ntitle: caf\xe9\n', 'latin1'));
    await expect(readTableConfig(latin1)).rejects.toThrow(
      new UserError(`${latin1}:2: not UTF-8 text (Latin-1 or another encoding?): save it as UTF-8`),
    );
  });
});

describe('configs/base-to-new.yaml', () => {
  let cfg: TableConfig;
  let csv: Record<string, string>[];
  beforeAll(async () => {
    cfg = await readTableConfig(path.join(CONFIGS, 'base-to-new.yaml'));
    csv = await readCsv('base_to_new_clip');
  });

  it('has base, new, H and all classes per dataset of the 11, then the averages, on ViT-B/16', () => {
    expect(cfg.arch).toBe('vit-b-16');
    const datasets = csv.filter((r) => r.dataset !== 'average');
    expect(datasets).toHaveLength(11);
    expect(cfg.columns.map((c) => c.key)).toEqual([
      ...datasets.flatMap(({ dataset, split }) => {
        const data = `${dataset}/${split}`;
        return [`${data}/base:top1`, `${data}/new:top1`, `${data}:H`, `${data}:top1`];
      }),
      'avg-base',
      'avg-new',
      'avg-H',
      'avg-all',
    ]);
    const h = cfg.columns.find((c) => c.key === 'oxford_pets/test:H')!;
    expect(h).toMatchObject({
      derive: 'harmonic_mean',
      of: ['oxford_pets/test/base:top1', 'oxford_pets/test/new:top1'],
    });
    expect(cfg.columns.find((c) => c.key === 'avg-H')).toMatchObject({
      derive: 'harmonic_mean',
      of: ['avg-base', 'avg-new'],
    });
  });

  it("gives zero-shot CLIP the papers' numbers, and no other row any", () => {
    const expected: Record<string, number> = {};
    for (const r of csv) {
      if (r.dataset === 'average') {
        Object.assign(expected, {
          'avg-base': Number(r.base),
          'avg-new': Number(r.new),
          'avg-H': Number(r.H),
          'avg-all': Number(r.all),
        });
        continue;
      }
      const data = `${r.dataset}/${r.split}`;
      expected[`${data}/base:top1`] = Number(r.base);
      expected[`${data}/new:top1`] = Number(r.new);
      expected[`${data}:H`] = Number(r.H);
      expected[`${data}:top1`] = Number(r.all);
    }
    expect(cfg.rows[0]!.key).toBe('clip');
    expect(cfg.rows[0]!.paper).toEqual(expected);
    expect(cfg.rows.slice(1).map((r) => Object.keys(r.paper).length)).toEqual([0, 0, 0]);
    expect(cfg.rows.map((r) => r.methods!.map((m) => m.name))).toEqual([['plain'], ['falip'], ['plain'], ['falip']]);
    expect(cfg.rows[2]!.prompts).toEqual(['prompt-{dataset}-s1', 'prompt-{dataset}-s2', 'prompt-{dataset}-s3']);
  });

  it('transcribes numbers that agree with each other: each H is 2BN/(B+N), the averages are the means', () => {
    const datasets = csv.filter((r) => r.dataset !== 'average');
    const average = csv.find((r) => r.dataset === 'average')!;
    for (const r of datasets) {
      const [b, n] = [Number(r.base), Number(r.new)];
      expect(Math.abs((2 * b * n) / (b + n) - Number(r.H)), r.dataset).toBeLessThanOrEqual(0.005 + 1e-9);
    }
    const mean = (k: string) => datasets.reduce((s, r) => s + Number(r[k]), 0) / datasets.length;
    expect(Math.abs(mean('base') - Number(average.base))).toBeLessThanOrEqual(0.005);
    expect(Math.abs(mean('new') - Number(average.new))).toBeLessThanOrEqual(0.005);
    expect(Math.abs(mean('all') - Number(average.all))).toBeLessThanOrEqual(0.05);
    const [b, n] = [Number(average.base), Number(average.new)];
    expect(((2 * b * n) / (b + n)).toFixed(2)).toBe(average.H);
  });
});
