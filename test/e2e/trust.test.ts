/**
 * A results folder never reports stale or mixed numbers, tried as a hostile user would through the
 * real CLI: resume against changed data or config, two writers at once, damaged caches, a re-render
 * of a custom run beside the paper, and the small input mistakes that used to pass silently.
 */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOk, expectUserError, runFalip } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { writeUnmarkedTinyModel } from '../helpers/tiny-model.js';

const dirs = useTempFalipDirs('falip-trust-');
let root: string;
/**
 * `eval demo` with two methods: these tests are about folders, locks and caches, which the demo's five
 * default methods would only make slower.
 */
const EVAL_DEMO = ['eval', 'demo', '--method', 'falip,redcircle'];
/** The CLI (runFalip passes on this process's environment, FALIP_MODELS/DATASETS/RESULTS included). */
const falip = (...args: string[]) =>
  runFalip([...args, ...(args[0] === 'eval' || args[0] === 'run' ? ['--device', 'cpu'] : [])]);
const records = (dir: string) => readFileSync(path.join(dir, 'records.jsonl'), 'utf8').trim().split('\n');

beforeAll(async () => {
  root = dirs.root();
  expectOk(await runFalip(['model', 'tiny']));
});

describe('the four ways to wrong numbers', () => {
  it('resume re-checks the data: another demo set under the same --out is refused, never counted', async () => {
    const d1 = path.join(root, 'd1');
    const d6 = path.join(root, 'd6');
    expectOk(await falip('data', 'demo', '--seed', '1', '--out-root', d1));
    expectOk(await falip('data', 'demo', '--seed', '6', '--out-root', d6));
    const out = path.join(root, 'x');
    expectOk(await runFalip([...EVAL_DEMO, '--out', out, '--device', 'cpu'], { FALIP_DATASETS: d1 }));
    const n = records(out).length;
    const again = await runFalip([...EVAL_DEMO, '--out', out, '--device', 'cpu'], { FALIP_DATASETS: d6 });
    expectUserError(again, `${out}/run.json: holds a different run`);
    expect(again.stderr).toContain('they differ in splits[demo/val].content');
    expect(records(out)).toHaveLength(n);
    // Without --out the other data is another run with its own folder.
    const a = expectOk(await runFalip([...EVAL_DEMO, '--device', 'cpu', '--json'], { FALIP_DATASETS: d1 }));
    const b = expectOk(await runFalip([...EVAL_DEMO, '--device', 'cpu', '--json'], { FALIP_DATASETS: d6 }));
    expect(JSON.parse(a.stdout).dir).not.toBe(JSON.parse(b.stdout).dir);
    expect(JSON.parse(b.stdout).resumed).toBe(false);
  });

  it('a record of an item that is not in the run is refused, with its line', async () => {
    const out = path.join(root, 'foreign');
    expectOk(await falip(...EVAL_DEMO, '--out', out));
    const lines = records(out);
    const forged = JSON.parse(lines[0]!);
    forged.id = 'demo-999-0:0';
    writeFileSync(path.join(out, 'records.jsonl'), `${[...lines, JSON.stringify(forged)].join('\n')}\n`);
    expectUserError(
      await falip(...EVAL_DEMO, '--out', out),
      `${out}/records.jsonl:${lines.length + 1}: a record of row`,
      'is not an item of this run',
    );
  });

  it('a config that does not fit its weights is refused at import, and the config is part of the model', async () => {
    const dir = path.join(root, 'six');
    expectOk(await runFalip(['model', 'random', '--arch', 'tiny', '--out', dir]));
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.vision_config.num_hidden_layers = 6;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    expectUserError(
      await runFalip(['model', 'import', dir, '--name', 'six']),
      'the weights have 12 vision layers but config.json vision_config.num_hidden_layers is 6',
    );
  });

  it('two runs on one folder: the second is refused naming the holder, and the first completes alone', async () => {
    const out = path.join(root, 'two');
    const [a, b] = await Promise.all([falip(...EVAL_DEMO, '--out', out), falip(...EVAL_DEMO, '--out', out)]);
    const refused = [a, b].filter((r) => r.status !== 0);
    expect(refused).toHaveLength(1);
    expectUserError(refused[0]!, `${out}: in use by pid `);
    const ids = records(out).map((l) => JSON.stringify([JSON.parse(l).row, JSON.parse(l).id]));
    expect(new Set(ids).size).toBe(ids.length);
    expectOk(await falip(...EVAL_DEMO, '--out', out));
    expect(existsSync(path.join(out, '.lock'))).toBe(false);
  });

  it('a lock left by a killed process is taken over', async () => {
    const out = path.join(root, 'stale');
    expectOk(await falip(...EVAL_DEMO, '--out', out));
    // pid 2^22 − 1 is above Linux's default pid_max: no process has it.
    writeFileSync(
      path.join(out, '.lock'),
      JSON.stringify({
        pid: 4194303,
        host: (await import('node:os')).hostname(),
        started: '2026-01-01T00:00:00Z',
        command: 'eval demo',
      }),
    );
    const r = expectOk(await falip(...EVAL_DEMO, '--out', out));
    expect(r.stderr).toContain(`${out}: took over the lock of pid 4194303, which is no longer running`);
  });

  it('damaged feature-cache entries are reported, deleted and recomputed: the numbers do not change', async () => {
    const cache = path.join(root, 'cache');
    const first = expectOk(await falip(...EVAL_DEMO, '--cache', cache, '--out', path.join(root, 'c1'), '--json'));
    const entries = readdirSync(cache, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
    expect(entries.length).toBeGreaterThan(10);
    for (const [i, f] of entries.entries()) {
      const bytes = readFileSync(f);
      if (i % 3 === 0) writeFileSync(f, bytes.subarray(0, bytes.length - 7));
      else if (i % 3 === 1) writeFileSync(f, Buffer.alloc(bytes.length, 0xff));
      else writeFileSync(f, Buffer.from(bytes.map((b, k) => (k === bytes.length - 2 ? b ^ 1 : b))));
    }
    const second = expectOk(await falip(...EVAL_DEMO, '--cache', cache, '--out', path.join(root, 'c2'), '--json'));
    expect(second.stderr.split('\n').filter((l) => l.includes('corrupt feature cache entry'))).toHaveLength(
      entries.length,
    );
    const cells = (s: string) => (JSON.parse(s) as { rows: { cells: unknown }[] }).rows.map((r) => r.cells);
    expect(cells(second.stdout)).toEqual(cells(first.stdout));
  });
});

describe("falip table re-renders only what the paper ran, on the paper's model", () => {
  it("a run with other parameters is not the config's row: one line naming the folder and what differs", async () => {
    const ds = process.env.FALIP_DATASETS!;
    cpSync(path.join(ds, 'demo', 'val'), path.join(ds, 'refcoco', 'testA'), { recursive: true });
    const info = JSON.parse(readFileSync(path.join(ds, 'refcoco', 'testA', 'dataset.json'), 'utf8'));
    writeFileSync(
      path.join(ds, 'refcoco', 'testA', 'dataset.json'),
      JSON.stringify({ ...info, name: 'refcoco', split: 'testA' }),
    );
    // Weights falip does not know to be random: only their geometry keeps the paper's numbers away.
    const model = await writeUnmarkedTinyModel(path.join(root, 'unmarked-tiny'));
    const custom = path.join(root, 'custom');
    const run = expectOk(
      await falip(
        'eval',
        'refcoco',
        '--split',
        'testA',
        '--alpha',
        '5',
        '--layers',
        '1-12',
        '--model',
        model,
        '--out',
        custom,
      ),
    );
    expect(run.stdout).not.toContain('(paper 44.2');
    // An α 5 run is not table1's FALIP row (α 0.2): it never fills that row.
    expectUserError(
      await falip('table', 'configs/table1.yaml', '--from', custom),
      `falip table --from: ${custom}: its row falip-gold ran falip alpha 5 (table1 has 0.2), falip layers [0,1,2,3,4,5,6,7,8,9,10,11] (table1 has [8,9,10,11])`,
    );
    // The same run with the paper's parameters: the tiny model shares ViT-B/16's grid and depth, not its
    // width, so still no paper number, and a footnote says why (matching weights keep it: unit tests).
    const plain = path.join(root, 'paper-params');
    const paperParams = expectOk(await falip('eval', 'refcoco', '--split', 'testA', '--model', model, '--out', plain));
    expect(paperParams.stdout).not.toContain('(paper 44.2');
    expect(paperParams.stdout).toContain(
      "The paper's numbers are for vit-b-16 (patch 16, 224 px, 12 layers of width 768, 12 heads); this model has patch 16, 224 px, 12 layers of width 64,",
    );
    // The same on random weights: no paper number at all, and the first footnote says why.
    const random = path.join(root, 'random');
    const onRandom = expectOk(await falip('eval', 'refcoco', '--split', 'testA', '--model', 'tiny', '--out', random));
    const cell = onRandom.stdout.split('\n').find((l) => l.startsWith('falip gold'))!;
    expect(cell).toMatch(/^falip gold +\d+\.\d ±\d+\.\d$/);
    expect(onRandom.stdout).not.toContain('Δ = ours − paper');
    expect(onRandom.stdout).toMatch(
      /\[1\] This model has random weights \(falip model random --arch tiny --seed \d+\)/,
    );
    expect(expectOk(await falip('table', 'configs/table1.yaml', '--from', random)).stdout).not.toContain('(paper 44.2');
    const fromPlain = expectOk(await falip('table', 'configs/table1.yaml', '--from', plain)).stdout;
    expect(fromPlain.split('\n').find((l) => l.startsWith('FALIP gold'))).not.toContain('(paper 44.2');
    expect(fromPlain).toContain('custom, paper n/a: its model has patch 16, 224 px, 12 layers of width 64');
  });
});

describe('small mistakes that passed silently', () => {
  it.each([
    [
      ['encode', 'image', '--image', 'x.png', '--box', ',,5,5', '--method', 'falip'],
      '--box ,,5,5: expected x,y,w,h (4 numbers)',
    ],
    [['eval', 'demo', '--method', 'redcircle', '--alpha', '0.3'], '--alpha: not read by method redcircle'],
    [['eval', 'demo', '--templates', 'imagenet-80'], '--templates: applies to classification datasets; demo is rec'],
    [['eval', 'demo', '--limit', '5.5'], '--limit 5.5: expected a positive integer'],
    [['eval', 'demo', '--out', '/etc/hostname'], '--out /etc/hostname: is a file, not a folder'],
    [['eval', 'demo', '--cache', '/etc/hostname'], '--cache /etc/hostname: is a file, not a folder'],
  ])('%j is refused: %s', async (args, message) => {
    expectUserError(await falip(...args), message);
  });

  it('--split val val is one column, and --method takes commas and spaces alike', async () => {
    const r = expectOk(
      await falip('eval', 'demo', '--split', 'val', 'val', '--method', 'falip,redcircle', 'plain', '--json'),
    );
    const out = JSON.parse(r.stdout) as { rows: { key: string; cells: { column: string }[] }[] };
    expect(out.rows.map((x) => x.key)).toEqual(['falip-gold', 'redcircle-gold', 'plain-gold']);
    expect(out.rows[0]!.cells.map((c) => c.column)).toEqual(['demo/val']);
  });

  it('the footnote names the real subset size when --limit is larger than a split', async () => {
    const r = expectOk(await falip(...EVAL_DEMO, '--limit', '500'));
    expect(r.stdout).toContain("--limit 500 is at least every split's size: all refs were evaluated.");
    const small = expectOk(await falip(...EVAL_DEMO, '--limit', '5'));
    expect(small.stdout).toMatch(
      /Seeded random subset of refs \(--limit 5, --sample-seed 0\): demo\/val 5 of \d+; the paper uses every one\./,
    );
  });

  it('falip bench --check exits 1 when a target is missed', async () => {
    const r = await runFalip([
      'bench',
      '--images',
      '1',
      '--boxes',
      '2',
      '--sentences',
      '1',
      '--check',
      '--device',
      'cpu',
    ]);
    // The tiny model cannot meet the REC speedup target with two boxes: a failed check, not bad input.
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^falip: bench targets missed: .*REC speedup over the per-box path [\d.]+ < 8\.5/,
    );
  });
});
