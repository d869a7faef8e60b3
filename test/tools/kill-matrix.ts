/**
 * Maintainer tool (not part of `npm test`): the kill -9 matrix of issue 17. Each case runs a falip
 * command, kills it with SIGKILL at a point (a file appearing, a number of records written, or a
 * delay), checks what it left, runs the same command again to completion and compares the result with
 * an uninterrupted run. Prints one line per case and a table: class, cases tried, held.
 *
 *   npx tsx test/tools/kill-matrix.ts                  # this checkout
 *   FALIP_BIN=/other/checkout/bin/falip.js npx tsx test/tools/kill-matrix.ts
 *   npx tsx test/tools/kill-matrix.ts cub merge        # some groups only (eval, import, cub, merge, search)
 *
 * What "held" means per class:
 * - eval, --view-weights search: the rerun exits 0 and its metrics.json and sorted records are the
 *   uninterrupted run's.
 * - import, re-import: right after the kill, `data check` never says ok unless the folder is one whole
 *   import (its manifest is byte for byte the old or the new one); the rerun's manifest is the new one.
 * - re-import (cub): the same for a release importer (the demo generators above always wrote a staged
 *   folder; the importers wrote manifest.jsonl, classes.json and dataset.json one after another), where
 *   "whole" means manifest.jsonl and classes.json both of the old release or both of the new one.
 * - merge: the rerun exits 0 and its table files are the uninterrupted merge's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CUB_FOLDERS, CUB_IMAGES, writeCubRelease } from '../helpers/cls-release-fixtures.js';
import { writeModelNet } from '../helpers/pointcloud-fixtures.js';

const BIN = process.env.FALIP_BIN ?? path.resolve(import.meta.dirname, '../../bin/falip.js');
const root = mkdtempSync(path.join(tmpdir(), 'falip-kill-matrix-'));
const env = {
  ...process.env,
  FALIP_MODELS: path.join(root, 'models'),
  FALIP_DATASETS: path.join(root, 'datasets'),
  FALIP_RESULTS: path.join(root, 'results'),
};

interface Done {
  status: number | null;
  stdout: string;
  stderr: string;
}

function falip(args: readonly string[], extraEnv: Record<string, string> = {}): Done {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** With KILL_AT_RENAME in `extraEnv`, the preload that makes the command kill itself at that rename. */
const preload = (extraEnv: Record<string, string>) =>
  extraEnv.KILL_AT_RENAME ? ['--import', path.join(import.meta.dirname, 'kill-at-rename.mjs')] : [];

/**
 * Starts the command and kills it with SIGKILL once `when` says so (polled every 5 ms), or when it ends;
 * a KILL_AT_RENAME in `extraEnv` makes it kill itself at that rename (see kill-at-rename.mjs).
 */
async function killed(
  args: readonly string[],
  when: (startedMs: number) => boolean,
  extraEnv: Record<string, string> = {},
): Promise<'killed' | 'finished'> {
  const child = spawn(process.execPath, [...preload(extraEnv), BIN, ...args], {
    env: { ...env, ...extraEnv },
    stdio: 'ignore',
  });
  const t0 = Date.now();
  let exited = false;
  let selfKilled = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', (_code, signal) => {
      exited = true;
      selfKilled = signal === 'SIGKILL';
      resolve();
    }),
  );
  for (;;) {
    if (exited) return selfKilled ? 'killed' : 'finished';
    if (when(Date.now() - t0)) {
      child.kill('SIGKILL');
      await exit;
      return 'killed';
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null);
const sortedRecords = (dir: string) => lines(path.join(dir, 'records.jsonl')).sort().join('\n');

/** The rerun into `out` succeeded and left the uninterrupted run's metrics and records (in any order). */
const sameAsReference = (again: Done, out: string, reference: string) =>
  again.status === 0 &&
  read(path.join(out, 'metrics.json')) === read(path.join(reference, 'metrics.json')) &&
  sortedRecords(out) === sortedRecords(reference);

/** A case's kill point, saying when the command ended before it could be killed. */
const pointText = (point: string, how: 'killed' | 'finished') =>
  `${point}${how === 'finished' ? ' (finished before the kill)' : ''}`;

interface Case {
  cls: string;
  point: string;
  held: boolean;
  note: string;
}
const cases: Case[] = [];
function report(cls: string, point: string, held: boolean, note = ''): void {
  cases.push({ cls, point, held, note });
  process.stdout.write(`${held ? 'held' : 'FAILED'}  ${cls}: ${point}${note ? ` (${note})` : ''}\n`);
}

/** Kill points of a run into `out`: run.json written, its first record, about half of `total`, and delays. */
function runPoints(total: number): [string, (out: string) => (ms: number) => boolean][] {
  const records = (out: string) => lines(path.join(out, 'records.jsonl')).length;
  return [
    ['run.json written', (out) => () => existsSync(path.join(out, 'run.json'))],
    ['first record', (out) => () => records(out) >= 1],
    [`half of ${total} records`, (out) => () => records(out) >= Math.floor(total / 2)],
    ['after 1.5 s', () => (ms) => ms > 1500],
    ['after 3 s', () => (ms) => ms > 3000],
  ];
}

async function evalCases(): Promise<void> {
  falip(['data', 'demo-cls', '--images', '24', '--seed', '3']);
  const args = (out: string) => ['eval', 'demo-cls', '--method', 'falip,plain', '--out', out, '--device', 'cpu'];
  const reference = path.join(root, 'eval-reference');
  if (falip(args(reference)).status !== 0) throw new Error('the uninterrupted eval failed');
  const total = lines(path.join(reference, 'records.jsonl')).length;
  for (const [point, when] of runPoints(total)) {
    const out = path.join(root, `eval-${cases.length}`);
    const how = await killed(args(out), when(out));
    const again = falip(args(out));
    const held = sameAsReference(again, out, reference);
    report('eval', pointText(point, how), held, again.status === 0 ? '' : again.stderr.trim());
  }
}

/** Every folder and file under `dir`, for the note of a failed case. */
function listing(dir: string): string {
  return existsSync(dir) ? readdirSync(dir).sort().join(', ') : '(none)';
}

async function importCases(): Promise<void> {
  const outRoot = (k: number) => path.join(root, `import-root-${k}`);
  const args = (k: number, seed: number) => [
    'data',
    'demo-cls',
    '--images',
    '48',
    '--seed',
    String(seed),
    '--out-root',
    outRoot(k),
  ];
  const manifestOf = (k: number) => read(path.join(outRoot(k), 'demo-cls', 'val', 'manifest.jsonl'));
  // The two whole imports, to compare with.
  falip(args(900, 1));
  falip(args(901, 2));
  const oldManifest = manifestOf(900);
  const newManifest = manifestOf(901);
  const dir = (k: number) => path.join(outRoot(k), 'demo-cls', 'val');
  const points: [string, (k: number) => (ms: number) => boolean][] = [
    ['lock taken', (k) => () => existsSync(path.join(outRoot(k), 'demo-cls', '.val.lock'))],
    [
      'staging folder made',
      (k) => () =>
        existsSync(path.join(outRoot(k), 'demo-cls')) &&
        readdirSync(path.join(outRoot(k), 'demo-cls')).some((n) => n.includes('.tmp-')),
    ],
    [
      'old folder moved aside',
      (k) => () =>
        existsSync(path.join(outRoot(k), 'demo-cls')) &&
        readdirSync(path.join(outRoot(k), 'demo-cls')).some((n) => n.includes('.old-')),
    ],
    ['after 100 ms', () => (ms) => ms > 100],
    ['after 300 ms', () => (ms) => ms > 300],
    ['after 600 ms', () => (ms) => ms > 600],
    ['after 900 ms', () => (ms) => ms > 900],
  ];
  for (const reimport of [false, true]) {
    const cls = reimport ? 're-import' : 'import';
    for (const [point, when] of points) {
      const k = cases.length;
      if (reimport) falip(args(k, 1));
      else if (point === 'old folder moved aside') continue;
      const how = await killed(args(k, 2), when(k));
      // What a reader sees right after the kill: a check that passes must be one whole import.
      const check = falip(['data', 'check', dir(k)]);
      const seen = manifestOf(k);
      const whole = seen === newManifest || (reimport && seen === oldManifest);
      const okAfterKill = check.status !== 0 || whole;
      // The next import (the same command again) leaves the new dataset, whole.
      const again = falip(args(k, 2));
      const after = falip(['data', 'check', dir(k)]);
      const held = okAfterKill && again.status === 0 && after.status === 0 && manifestOf(k) === newManifest;
      report(
        cls,
        pointText(point, how),
        held,
        held
          ? `check right after: ${check.status === 0 ? (seen === oldManifest ? 'ok, old data' : 'ok, new data') : 'not ok / not imported'}`
          : `${check.stdout.trim().split('\n').at(-1)}; ${again.stderr.trim()}; ${listing(path.join(outRoot(k), 'demo-cls'))}`,
      );
    }
  }
}

/**
 * Re-imports of CUB over an earlier import: the new release has the same photos with the class ids
 * reversed, so a manifest of one beside the classes.json of the other labels every photo wrongly.
 */
async function cubReimportCases(): Promise<void> {
  const release = (name: string) => path.join(root, name, 'CUB_200_2011');
  await writeCubRelease(release('cub-old'));
  await writeCubRelease(release('cub-new'), {
    'classes.txt': `${CUB_FOLDERS.map((_, i) => `${i + 1} ${CUB_FOLDERS[CUB_FOLDERS.length - 1 - i]}`).join('\n')}\n`,
    'image_class_labels.txt': `${CUB_IMAGES.map((i) => `${i.id} ${CUB_FOLDERS.length + 1 - i.classId}`).join('\n')}\n`,
  });
  const outRoot = (k: number) => path.join(root, `cub-root-${k}`);
  const args = (k: number, which: string) => [
    'data',
    'import',
    'cub',
    '--root',
    release(which),
    '--split',
    'all',
    '--out-root',
    outRoot(k),
  ];
  const dir = (k: number) => path.join(outRoot(k), 'cub', 'all');
  const files = (k: number) => ['manifest.jsonl', 'classes.json'].map((f) => read(path.join(dir(k), f))).join('\0');
  if (falip(args(910, 'cub-old')).status !== 0 || falip(args(911, 'cub-new')).status !== 0)
    throw new Error('the CUB imports failed');
  const [oldFiles, newFiles] = [files(910), files(911)];
  const newManifest = read(path.join(dir(911), 'manifest.jsonl'));
  const names = (k: number) =>
    existsSync(path.join(outRoot(k), 'cub')) ? readdirSync(path.join(outRoot(k), 'cub')) : [];
  // Exact kills at a rename (a checkout that makes no such rename runs to its end).
  const renames: [string, string][] = [
    ['right after the rename onto manifest.jsonl', '/cub/all/manifest.jsonl:1'],
    ['right after the rename onto classes.json', '/cub/all/classes.json:1'],
    ['right after the old folder is renamed aside', '.old-:1'],
  ];
  const points: [string, (k: number) => (ms: number) => boolean, Record<string, string>?][] = [
    ...renames.map(([point, at]): [string, () => () => boolean, Record<string, string>] => [
      point,
      () => () => false,
      { KILL_AT_RENAME: at },
    ]),
    ['new manifest.jsonl in place', (k) => () => read(path.join(dir(k), 'manifest.jsonl')) === newManifest],
    ['staging folder made', (k) => () => names(k).some((n) => n.includes('.tmp-'))],
    ['old folder moved aside', (k) => () => names(k).some((n) => n.includes('.old-'))],
    ['after 100 ms', () => (ms) => ms > 100],
    ['after 300 ms', () => (ms) => ms > 300],
    ['after 600 ms', () => (ms) => ms > 600],
  ];
  for (const [point, when, extraEnv] of points) {
    const k = cases.length;
    falip(args(k, 'cub-old'));
    const how = await killed(args(k, 'cub-new'), when(k), extraEnv);
    const check = falip(['data', 'check', dir(k)]);
    const seen = files(k);
    const okAfterKill = check.status !== 0 || seen === oldFiles || seen === newFiles;
    const again = falip(args(k, 'cub-new'));
    const after = falip(['data', 'check', dir(k)]);
    const held = okAfterKill && again.status === 0 && after.status === 0 && files(k) === newFiles;
    report(
      're-import (cub)',
      pointText(point, how),
      held,
      held
        ? `check right after: ${check.status === 0 ? (seen === oldFiles ? 'ok, old data' : 'ok, new data') : 'not ok / not imported'}`
        : `check right after: ${check.status === 0 ? 'ok' : 'not ok'} on ${seen === oldFiles ? 'the old import' : seen === newFiles ? 'the new import' : 'a mix of the two'}; ${again.stderr.trim()}`,
    );
  }
}

async function mergeCases(): Promise<void> {
  const shard = (k: number) => path.join(root, `shard-${k}`);
  for (const k of [0, 1, 2])
    if (
      falip(['eval', 'demo-cls', '--method', 'falip,plain', '--shard', `${k}/3`, '--out', shard(k), '--device', 'cpu'])
        .status !== 0
    )
      throw new Error(`shard ${k} failed`);
  const args = (out: string) => ['merge', shard(0), shard(1), shard(2), '--out', out];
  const reference = path.join(root, 'merge-reference');
  if (falip(args(reference)).status !== 0) throw new Error('the uninterrupted merge failed');
  const points: [string, (out: string) => (ms: number) => boolean][] = [
    ['staging folder made', (out) => () => readdirSync(root).some((n) => n.startsWith(`${path.basename(out)}.tmp-`))],
    [
      'staging has records',
      (out) => () =>
        readdirSync(root).some(
          (n) => n.startsWith(`${path.basename(out)}.tmp-`) && existsSync(path.join(root, n, 'records.jsonl')),
        ),
    ],
    ['after 200 ms', () => (ms) => ms > 200],
    ['after 500 ms', () => (ms) => ms > 500],
    ['after 800 ms', () => (ms) => ms > 800],
  ];
  for (const [point, when] of points) {
    const out = path.join(root, `merged-${cases.length}`);
    const how = await killed(args(out), when(out));
    const again = falip(args(out));
    const same = ['metrics.json', 'table.md', 'table.csv'].every(
      (f) => read(path.join(out, f)) === read(path.join(reference, f)),
    );
    report('merge', pointText(point, how), again.status === 0 && same, again.status === 0 ? '' : again.stderr.trim());
  }
}

async function searchCases(): Promise<void> {
  const release = path.join(root, 'modelnet40_ply_hdf5_2048');
  const clouds = Array.from({ length: 12 }, (_, i) => i);
  await writeModelNet(release, {
    'ply_data_test0.h5': { clouds, labels: clouds.map((c) => (c * 7) % 40), labelLayout: 'modelnet' },
  });
  if (falip(['data', 'import', 'modelnet40', '--root', release]).status !== 0)
    throw new Error('the modelnet import failed');
  const args = (out: string) => [
    'eval',
    'modelnet40',
    '--method',
    'falip',
    '--view-weights',
    'search',
    '--out',
    out,
    '--device',
    'cpu',
    // A real dataset's eval names its model (falip ships no CLIP for them); the tiny one will do here.
    '--model',
    'tiny',
  ];
  const reference = path.join(root, 'search-reference');
  const whole = falip(args(reference));
  if (whole.status !== 0) throw new Error(`the uninterrupted search failed: ${whole.stderr}`);
  const kept = (out: string) => lines(path.join(out, 'intermediate.jsonl')).length;
  const points: [string, (out: string) => (ms: number) => boolean][] = [
    ['first cloud kept', (out) => () => kept(out) >= 1],
    ['half the clouds kept', (out) => () => kept(out) >= 6],
    ['all clouds kept, records being written', (out) => () => kept(out) >= 12],
    ['after 2 s', () => (ms) => ms > 2000],
    ['after 4 s', () => (ms) => ms > 4000],
  ];
  for (const [point, when] of points) {
    const out = path.join(root, `search-${cases.length}`);
    const how = await killed(args(out), when(out));
    const keptAtKill = kept(out);
    const again = falip(args(out));
    const held = sameAsReference(again, out, reference);
    report(
      '--view-weights search',
      pointText(point, how),
      held,
      `${keptAtKill} of 12 clouds' view scores kept at the kill${again.status === 0 ? '' : `; ${again.stderr.trim()}`}`,
    );
  }
}

try {
  if (falip(['model', 'tiny']).status !== 0) throw new Error('falip model tiny failed');
  const groups: Record<string, () => Promise<void>> = {
    eval: evalCases,
    import: importCases,
    cub: cubReimportCases,
    merge: mergeCases,
    search: searchCases,
  };
  const chosen = process.argv.slice(2);
  for (const name of chosen)
    if (!(name in groups)) throw new Error(`unknown group ${name}: ${Object.keys(groups).join(', ')}`);
  for (const [name, group] of Object.entries(groups)) if (chosen.length === 0 || chosen.includes(name)) await group();
  const classes = [...new Set(cases.map((c) => c.cls))];
  process.stdout.write('\n| class | cases tried | held |\n|---|---|---|\n');
  for (const cls of classes) {
    const mine = cases.filter((c) => c.cls === cls);
    process.stdout.write(`| kill -9 during ${cls} | ${mine.length} | ${mine.filter((c) => c.held).length} |\n`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
