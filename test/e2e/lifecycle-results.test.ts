/**
 * Issue 17, the results side: `falip merge` takes only shards that are what their runs wrote, is
 * resumable and changes nothing when it refuses; `falip table --from` fills each cell from exactly one
 * run of the config's row; `--out` never writes into a folder falip did not make; two imports of one
 * model name cannot both win; a killed graph build's temporary files are removed. In process on the
 * tiny model and a six-image demo-cls set, except where two processes are the point.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as dataCommand from '../../src/cli/data.js';
import * as reportCommand from '../../src/cli/report.js';
import * as tableCommand from '../../src/cli/table.js';
import { openEncoder, type OpenedEncoder } from '../../src/encoder/open-encoder.js';
import { mergeShards } from '../../src/experiments/merge-shards.js';
import { importModel } from '../../src/model/model-registry.js';
import { readModelRecord } from '../../src/model/model-store.js';
import { UserError } from '../../src/util/errors.js';
import { runTable } from '../../src/experiments/run-table.js';
import { parseTableConfig, type TableConfig } from '../../src/experiments/table-config.js';
import { tableFromRuns } from '../../src/experiments/table-from-runs.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { writeClsDemoSet } from '../../src/tasks/classification/demo-cls.js';
import type { Sampling } from '../../src/tasks/task-definition.js';
import { runInProcess } from '../helpers/cli.js';
import { userErrorMessage } from '../helpers/errors.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { copyTinyModel, removeTinyModels, tinyModel } from '../helpers/tiny-model.js';
import { runOptions } from '../helpers/run-options.js';

const dirs = useTempFalipDirs('falip-lifecycle-results-');
let opened: OpenedEncoder;
let scratch = 0;
const fresh = (name: string) => path.join(dirs.root(), `${name}-${scratch++}`);

beforeAll(async () => {
  opened = await openEncoder({ model: (await tinyModel()).dir, device: 'cpu', precision: 'fp32' });
  await writeClsDemoSet(undefined, { images: 6, seed: 1 });
});
afterAll(() => removeTinyModels());

const rows = (alpha?: number) => [
  { key: 'falip', label: 'FALIP', methods: [alpha === undefined ? 'falip' : { name: 'falip', alpha }] },
];
const table = (alpha?: number): TableConfig =>
  parseTableConfig(
    {
      name: 'results',
      title: 't',
      task: 'classification',
      columns: [{ data: 'demo-cls/val', metric: 'top1' }],
      rows: rows(alpha),
    },
    () => 'test',
  );

function run(out: string, sampling: Sampling = { seed: 0 }, cfg = table()) {
  return runTable(cfg, runOptions(opened, out, { sampling }));
}

const read = (file: string) => readFileSync(file, 'utf8');
const recordsOf = (dir: string) => read(path.join(dir, 'records.jsonl')).split('\n').filter(Boolean);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every file of a folder with its bytes, to see that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const p = path.join(e.parentPath, e.name);
        return [path.relative(dir, p), read(p)];
      }),
  );
}

describe('falip merge', () => {
  let shards: string[];
  let whole: string;
  beforeAll(async () => {
    shards = [fresh('shard'), fresh('shard')];
    await Promise.all(shards.map((dir, k) => run(dir, { seed: 0, shard: { index: k, count: 2 } })));
    whole = fresh('whole');
    await run(whole);
  });

  /** A copy of shard 0 with its records.jsonl passed through `edit` (and, if asked, run.json's hash updated to match). */
  function forged(edit: (lines: string[]) => string[], rehash = false): string {
    const dir = fresh('forged');
    cpSync(shards[0]!, dir, { recursive: true });
    const text = `${edit(recordsOf(dir)).join('\n')}\n`;
    writeFileSync(path.join(dir, 'records.jsonl'), text);
    if (rehash) {
      const runJson = JSON.parse(read(path.join(dir, 'run.json')));
      runJson.complete.records_sha256 = sha256(text);
      writeFileSync(path.join(dir, 'run.json'), JSON.stringify(runJson));
    }
    return dir;
  }
  const edited = (lines: string[], change: (r: Record<string, unknown>) => void) => {
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    change(first);
    return [JSON.stringify(first), ...lines.slice(1)];
  };

  it('5. refuses a record edited by hand, a renamed id and a row no config has', async () => {
    const flipped = forged((l) => edited(l, (r) => (r.correct = !r.correct)));
    await userErrorMessage(
      mergeShards([flipped, shards[1]!], fresh('m')),
      `${flipped}/records.jsonl: changed since the shard finished`,
    );
    const renamed = forged((l) => edited(l, (r) => (r.id = 'demo-cls-999')), true);
    await userErrorMessage(
      mergeShards([renamed, shards[1]!], fresh('m')),
      `${renamed}/records.jsonl: the records of row "falip" on demo-cls/val are not the items of the run`,
    );
    const foreignRow = forged((l) => edited(l, (r) => (r.row = 'nonesuch')), true);
    await userErrorMessage(
      mergeShards([foreignRow, shards[1]!], fresh('m')),
      `${foreignRow}/records.jsonl:1: a record of row "nonesuch", split "demo-cls/val", which this run does not have`,
    );
  });

  it('a shard with one record too many is not "incomplete"', async () => {
    const extra = forged((l) => [...l, JSON.stringify({ ...JSON.parse(l[0]!), id: 'demo-cls-999' })]);
    const message = await userErrorMessage(
      mergeShards([extra, shards[1]!], fresh('m')),
      'records were added after it finished',
    );
    expect(message).not.toContain('incomplete');
  });

  it('12. a merge killed half way is finished by running it again', async () => {
    const out = fresh('merged');
    // What a killed merge of an older falip left: the folder with run.json and some records.
    const done = await mergeShards(shards, fresh('reference'));
    cpSync(done.dir, out, { recursive: true });
    writeFileSync(path.join(out, 'records.jsonl'), `${recordsOf(out).slice(0, 2).join('\n')}\n`);
    for (const f of ['metrics.json', 'table.md', 'table.csv']) writeFileSync(path.join(out, f), '');
    // And what a killed merge of this one leaves beside it: its half-built folder under a temporary name.
    mkdirSync(`${out}.tmp-4194303-0badf00d`);
    await mergeShards(shards, out);
    for (const f of ['metrics.json', 'table.md', 'table.csv'])
      expect(read(path.join(out, f)), f).toBe(read(path.join(whole, f)));
    expect(existsSync(`${out}.tmp-4194303-0badf00d`)).toBe(false);
  });

  it('14. a refused merge changes nothing: neither the target nor the shards', async () => {
    const out = fresh('target');
    await mergeShards(shards, out);
    const before = snapshot(out);
    // A shard cut by a kill mid-append: a partial last line.
    const cut = fresh('cut');
    cpSync(shards[0]!, cut, { recursive: true });
    const text = read(path.join(cut, 'records.jsonl'));
    writeFileSync(path.join(cut, 'records.jsonl'), text.slice(0, text.length - 20));
    const cutBytes = read(path.join(cut, 'records.jsonl'));
    await userErrorMessage(mergeShards([cut, shards[1]!], out), 'is incomplete');
    expect(read(path.join(cut, 'records.jsonl'))).toBe(cutBytes);
    expect(snapshot(out)).toEqual(before);
  });
});

describe('3. falip table --from', () => {
  it('two runs that both hold a cell are an error naming both, never pooled', async () => {
    const a = fresh('limit-a');
    const b = fresh('limit-b');
    await run(a, { seed: 0, limit: 3 });
    await run(b, { seed: 1, limit: 3 });
    await userErrorMessage(
      tableFromRuns(table(), [a, b]),
      `falip table --from: row falip on demo-cls/val was run by both ${a} and ${b}`,
    );
  });

  it("a run whose row has other parameters is not the config's row", async () => {
    const custom = fresh('alpha5');
    await run(custom, { seed: 0 }, table(5));
    await userErrorMessage(
      tableFromRuns(table(), [custom]),
      `falip table --from: ${custom}: its row falip ran falip alpha 5 (results has 0.2)`,
    );
  });

  it('runs of two models are refused; an unfinished run is marked "partial (n of m)" in its cell', async () => {
    const done = fresh('done');
    await run(done);
    const other = fresh('other-model');
    cpSync(done, other, { recursive: true });
    const runJson = JSON.parse(read(path.join(other, 'run.json')));
    runJson.key.model.sha256 = 'e'.repeat(64);
    writeFileSync(path.join(other, 'run.json'), JSON.stringify(runJson));
    const cut = fresh('unfinished');
    cpSync(done, cut, { recursive: true });
    await userErrorMessage(
      tableFromRuns(table(), [cut, other]),
      `falip table --from: ${other} ran another model than ${cut}`,
    );
    // Cut to two of its six records, as a run stopped half way leaves it.
    writeFileSync(path.join(cut, 'records.jsonl'), `${recordsOf(cut).slice(0, 2).join('\n')}\n`);
    const cutJson = JSON.parse(read(path.join(cut, 'run.json')));
    delete cutJson.complete;
    writeFileSync(path.join(cut, 'run.json'), JSON.stringify(cutJson));
    const { table: t } = await tableFromRuns(table(), [cut]);
    expect(t.rows[0]!.cells[0]).toMatchObject({ status: 'partial (2 of 6)', ours: { n: 2 } });
    expect(renderMarkdown(t)).toContain('partial (2 of 6)');
  });
});

describe('13. --out is never a folder falip did not make', () => {
  it('eval into a folder of the user: refused before anything is written, the user file kept', async () => {
    const mine = fresh('mine');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'table.md'), 'my notes\n');
    await userErrorMessage(run(mine), `--out ${mine}: not empty and not a falip results folder`);
    expect(readdirSync(mine)).toEqual(['table.md']);
    expect(read(path.join(mine, 'table.md'))).toBe('my notes\n');
  });

  it('falip table --out into a folder of the user, and report --out where no file can go', async () => {
    const src = fresh('src');
    await run(src);
    const mine = fresh('mine');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'metrics.json'), '{"mine": true}');
    writeFileSync(path.join(mine, 'notes.txt'), 'x');
    const config = path.join(dirs.root(), 'results.yaml');
    writeFileSync(
      config,
      'name: results\ntitle: t\ntask: classification\ncolumns: [{data: demo-cls/val, metric: top1}]\nrows:\n  - {key: falip, label: FALIP, methods: [falip]}\n',
    );
    await userErrorMessage(
      runInProcess(tableCommand.register, ['table', config, '--from', src, '--out', mine]),
      `--out ${mine}: not empty`,
    );
    expect(read(path.join(mine, 'metrics.json'))).toBe('{"mine": true}');
    // Written once, the table's own folder is rewritten by the next falip table.
    const own = fresh('own');
    await runInProcess(tableCommand.register, ['table', config, '--from', src, '--out', own]);
    await runInProcess(tableCommand.register, ['table', config, '--from', src, '--out', own]);
    expect(readdirSync(own).sort()).toEqual(['metrics.json', 'table.csv', 'table.md']);
    const file = path.join(src, 'table.md');
    await userErrorMessage(
      runInProcess(reportCommand.register, ['report', src, '--out', path.join(file, 'report.html')]),
      `--out ${path.join(file, 'report.html')}: ${file} is a file, not a folder`,
    );
    await userErrorMessage(
      runInProcess(reportCommand.register, [
        'report',
        src,
        '--out',
        path.join(dirs.root(), 'no', 'such', 'report.html'),
      ]),
      'does not exist',
    );
  });
  it("falip table --out into a folder holding only the user's table.md and metrics.json (the table's own names)", async () => {
    const src = fresh('src');
    await run(src);
    const config = path.join(dirs.root(), 'results.yaml');
    writeFileSync(
      config,
      'name: results\ntitle: t\ntask: classification\ncolumns: [{data: demo-cls/val, metric: top1}]\nrows:\n  - {key: falip, label: FALIP, methods: [falip]}\n',
    );
    for (const files of [
      { 'table.md': 'my notes\n', 'metrics.json': '{"mine": true}' },
      { 'table.md': 'my notes\n' },
    ]) {
      const mine = fresh('mine');
      mkdirSync(mine);
      for (const [name, text] of Object.entries(files)) writeFileSync(path.join(mine, name), text);
      await userErrorMessage(
        runInProcess(tableCommand.register, ['table', config, '--from', src, '--out', mine]),
        `--out ${mine}: not empty and not a folder of falip table's files`,
      );
      expect(snapshot(mine)).toEqual(files);
    }
  });
});

/**
 * Makes `dir` unwritable for this process: its mode for a normal user, the immutable attribute for
 * root (whom modes do not stop); returns the undo.
 */
function unwritable(dir: string): () => void {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['+i', dir]);
    return () => execFileSync('chattr', ['-i', dir]);
  }
  execFileSync('chmod', ['555', dir]);
  return () => execFileSync('chmod', ['755', dir]);
}

describe('13. where data import, data views and report write is checked before their inputs are read', () => {
  it('--out-root that is a file, or read-only: refused in words before the release is read', async () => {
    const file = path.join(dirs.root(), 'a-file');
    writeFileSync(file, 'x');
    // The release does not exist either: the target is what is reported, so it was checked first.
    const args = (outRoot: string) => [
      'data',
      'import',
      'cub',
      '--root',
      path.join(dirs.root(), 'no-cub'),
      '--out-root',
      outRoot,
    ];
    await userErrorMessage(
      runInProcess(dataCommand.register, args(file)),
      `--out-root ${file}: is a file, not a folder`,
    );
    const locked = fresh('read-only');
    mkdirSync(locked);
    const undo = unwritable(locked);
    try {
      const message = await userErrorMessage(
        runInProcess(dataCommand.register, args(path.join(locked, 'datasets'))),
        `--out-root ${path.join(locked, 'datasets')}: cannot write in ${locked} (permission denied)`,
      );
      expect(message).not.toContain('not found');
    } finally {
      undo();
    }
  });

  it('data views --out into a folder of the user is refused before the dataset is opened', async () => {
    const mine = fresh('views');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'view-0.png'), 'my picture');
    writeFileSync(path.join(mine, 'holiday.jpg'), 'x');
    await userErrorMessage(
      runInProcess(dataCommand.register, ['data', 'views', 'modelnet40', '--index', '0', '--out', mine]),
      `--out ${mine}: not empty and not a folder of falip data views files`,
    );
    expect(read(path.join(mine, 'view-0.png'))).toBe('my picture');
  });

  it("data views --out: names data views writes are not enough, the folder needs a views.json of falip's", async () => {
    // Before the fix a folder holding only a user's view-0.png (or views.json) passed as falip's and was overwritten.
    const onlyPicture = fresh('views-picture');
    mkdirSync(onlyPicture);
    writeFileSync(path.join(onlyPicture, 'view-0.png'), 'my picture');
    const ownJson = fresh('views-json');
    mkdirSync(ownJson);
    writeFileSync(path.join(ownJson, 'views.json'), '{"my": "notes"}');
    for (const mine of [onlyPicture, ownJson]) {
      await userErrorMessage(
        runInProcess(dataCommand.register, ['data', 'views', 'modelnet40', '--index', '0', '--out', mine]),
        `--out ${mine}: not empty and not a folder of falip data views files`,
      );
    }
    expect(read(path.join(onlyPicture, 'view-0.png'))).toBe('my picture');
    expect(read(path.join(ownJson, 'views.json'))).toBe('{"my": "notes"}');
  });
});

describe('model import into a read-only models folder', () => {
  it('is refused in words (read-only, permission denied), not as "not found"', async () => {
    const model = await copyTinyModel(dirs.root(), 'import-ro');
    const locked = fresh('ro-models');
    mkdirSync(locked);
    const undo = unwritable(locked);
    const saved = process.env.FALIP_MODELS;
    process.env.FALIP_MODELS = path.join(locked, 'models');
    try {
      const message = await userErrorMessage(
        importModel(model, 'mine'),
        `models folder ${path.join(locked, 'models')}: cannot write in ${locked}`,
      );
      expect(message).not.toContain('not found');
    } finally {
      process.env.FALIP_MODELS = saved;
      undo();
    }
  });
});

describe('7. two imports of one model name at once', () => {
  it("one registers it, the other is refused (exit 2); the record is the winner's", async () => {
    const a = await copyTinyModel(dirs.root(), 'import-a');
    const b = await copyTinyModel(dirs.root(), 'import-b');
    const results = await Promise.allSettled([importModel(a, 'shared'), importModel(b, 'shared')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(UserError);
    expect((loser.reason as Error).message).toMatch(/^model 'shared': in use by pid \d+/);
    const winner = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ source: string }>;
    expect((await readModelRecord('shared'))?.source).toBe(winner.value.source);
  });
});

describe('15. temporary files of a killed graph build', () => {
  it("are removed when the graph folder is next opened; a live process's are kept", async () => {
    const byPath = path.join(process.env.FALIP_MODELS!, 'by-path');
    const [slug] = readdirSync(byPath);
    const cache = path.join(byPath, slug!);
    const graphs = path.join(cache, readdirSync(cache).find((n) => n.startsWith('graphs-'))!);
    const dead = path.join(graphs, 'vision.bin.tmp-4194303-0badf00d');
    const live = path.join(graphs, `text.bin.tmp-${process.pid}-0badf00d`);
    writeFileSync(dead, Buffer.alloc(1 << 20));
    writeFileSync(live, 'x');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(dead, old, old);
    await openEncoder({ model: (await tinyModel()).dir, device: 'cpu', precision: 'fp32' });
    expect(existsSync(dead)).toBe(false);
    expect(statSync(live).size).toBe(1);
  });
});
