/**
 * `--shard K/N` and `falip merge`: three shards run as three processes at once and merged give the
 * files of one unsharded run, byte for byte; merge refuses what is not one complete run; the shipped
 * SLURM and GitHub Actions examples run as written (array ids and matrix values set by hand).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { shardOfId } from '../src/tasks/sample-subset.js';
import { useTempFalipDirs } from './helpers/temp-falip-dirs.js';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');
const BIN = path.join(REPO, 'bin', 'falip.js');
const dirs = useTempFalipDirs('falip-shards-');

/** The CLI in a child process; resolves with its output, rejects with it and the exit code. */
async function falip(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { env: process.env, cwd: REPO, maxBuffer: 1 << 24 });
}

async function falipFails(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await falip(...args);
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
  throw new Error(`falip ${args.join(' ')} succeeded`);
}

const TABLE_FILES = ['metrics.json', 'table.csv', 'table.md'];
let root: string;

beforeAll(async () => {
  root = dirs.root();
  await falip('data', 'demo', '--images', '8');
});

describe('shards', () => {
  it('partition the sampled items by a stable hash of their id', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `ref-${i}`);
    const counts = [0, 1, 2].map((k) => ids.filter((id) => shardOfId(id, 3) === k).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
    for (const c of counts) expect(c).toBeGreaterThan(70);
    expect(ids.map((id) => shardOfId(id, 3))).toEqual(ids.map((id) => shardOfId(id, 3)));
  });

  it('three shards run at once and merged equal one unsharded run, file for file', async () => {
    const out = (name: string) => path.join(root, name);
    await Promise.all([0, 1, 2].map((k) => falip('eval', 'demo', '--shard', `${k}/3`, '--out', out(`shard-${k}`), '--device', 'cpu')));
    await falip('eval', 'demo', '--out', out('whole'), '--device', 'cpu');
    const merged = await falip('merge', out('shard-0'), out('shard-1'), out('shard-2'), '--out', out('merged'));
    expect(merged.stderr).toContain('merged 3 shards');
    for (const f of TABLE_FILES) expect(readFileSync(out(`merged/${f}`), 'utf8'), f).toBe(readFileSync(out(`whole/${f}`), 'utf8'));
    // Each shard holds only its own items, and together they hold every record once.
    const records = [0, 1, 2].map((k) => readFileSync(out(`shard-${k}/records.jsonl`), 'utf8').trim().split('\n'));
    expect(records.every((r) => r.length > 0)).toBe(true);
    expect(records.flat().length).toBe(readFileSync(out('whole/records.jsonl'), 'utf8').trim().split('\n').length);
    // The merged run has the unsharded run's key: it is the same run.
    expect(JSON.parse(readFileSync(out('merged/run.json'), 'utf8')).config_hash).toBe(JSON.parse(readFileSync(out('whole/run.json'), 'utf8')).config_hash);
  });

  it('merge refuses a missing shard, two copies of one, a shard of another run and an unfinished one', async () => {
    const out = (name: string) => path.join(root, name);
    const missing = await falipFails('merge', out('shard-0'), out('shard-2'), '--out', out('m1'));
    expect(missing).toEqual({ code: 2, stderr: 'falip: shard 1/3 is missing (given: 0, 2)\n' });
    const twice = await falipFails('merge', out('shard-0'), out('shard-1'), out('shard-1'), out('shard-2'), '--out', out('m2'));
    expect(twice.stderr).toBe(`falip: shard 1/3 is given twice: ${out('shard-1')} and ${out('shard-1')}\n`);
    await falip('eval', 'demo', '--shard', '1/3', '--alpha', '0.5', '--method', 'falip', '--out', out('other-1'), '--device', 'cpu');
    const foreign = await falipFails('merge', out('shard-0'), out('other-1'), out('shard-2'), '--out', out('m3'));
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(new RegExp(`^falip: ${out('other-1')}: another run than ${out('shard-0')} \\(run key`));
    // Cut the last record of a shard, as a killed job leaves it.
    const file = out('shard-2/records.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, lines.slice(0, -1).join('\n') + '\n');
    const unfinished = await falipFails('merge', out('shard-0'), out('shard-1'), out('shard-2'), '--out', out('m4'));
    expect(unfinished.stderr).toBe(`falip: ${out('shard-2')}: shard 2/3 is incomplete (${lines.length - 1} of ${lines.length} records): re-run its command to finish it\n`);
    // Re-running the shard's command resumes it to complete, and the merge goes through.
    await falip('eval', 'demo', '--shard', '2/3', '--out', out('shard-2'), '--device', 'cpu');
    await falip('merge', out('shard-0'), out('shard-1'), out('shard-2'), '--out', out('m4'));
    for (const f of TABLE_FILES) expect(readFileSync(out(`m4/${f}`), 'utf8'), f).toBe(readFileSync(out(`whole/${f}`), 'utf8'));
    expect(await falipFails('eval', 'demo', '--shard', '3/3', '--out', out('bad'))).toEqual({
      code: 2,
      stderr: 'falip: --shard 3/3: expected K/N with 0 ≤ K < N, e.g. 0/8 (shards are numbered from 0, like SLURM array ids)\n',
    });
  });
});

describe('the shipped examples', () => {
  it('SLURM: the array tasks and the merge run with plain bash, array ids set by hand', async () => {
    const config = path.join(root, 'demo-table.yaml');
    writeFileSync(config, ['name: demo-table', 'title: Demo', 'task: rec', 'columns: [demo/val]', 'rows:', '  - { key: falip, label: FALIP, methods: [falip] }', '  - { key: rc, label: RedCircle, methods: [redcircle] }', ''].join('\n'));
    const env = { ...process.env, CONFIG: config, SHARDS: '3', RUN: path.join(root, 'slurm/demo'), MODEL: 'tiny', FALIP: `${process.execPath} ${BIN}`, FALIP_ARGS: '--device cpu' };
    await Promise.all([0, 1, 2].map((k) => run('bash', [path.join(REPO, 'examples/slurm/table-shard.sbatch')], { env: { ...env, SLURM_ARRAY_TASK_ID: String(k) }, cwd: REPO })));
    await run('bash', [path.join(REPO, 'examples/slurm/merge.sbatch')], { env, cwd: REPO });
    const metrics = JSON.parse(readFileSync(path.join(root, 'slurm/demo/metrics.json'), 'utf8')) as { rows: unknown[]; items: number };
    expect(metrics.rows).toHaveLength(2);
    expect(metrics.items).toBeGreaterThan(0);
    // submit.sh queues the array and the merge with afterok on it.
    const submit = readFileSync(path.join(REPO, 'examples/slurm/submit.sh'), 'utf8');
    expect(submit).toMatch(/--array=0-\$\(\(SHARDS - 1\)\) examples\/slurm\/table-shard\.sbatch/);
    expect(submit).toMatch(/--dependency=afterok:"\$array" examples\/slurm\/merge\.sbatch/);
    await run('bash', ['-n', path.join(REPO, 'examples/slurm/submit.sh')]);
  });

  it('GitHub Actions: the matrix shards and the merge job run as written', async () => {
    const workflow = parseYaml(readFileSync(path.join(REPO, 'examples/github-actions/falip-sweep.yml'), 'utf8')) as {
      env: { SHARDS: number; SWEEP: string };
      jobs: { shard: { strategy: { matrix: { shard: number[] } }; steps: { run?: string }[] }; merge: { needs: string; steps: { run?: string }[] } };
    };
    const { SHARDS, SWEEP } = workflow.env;
    expect(workflow.jobs.shard.strategy.matrix.shard).toEqual(Array.from({ length: SHARDS }, (_, i) => i));
    expect(workflow.jobs.merge.needs).toBe('shard');
    const falipSteps = (steps: { run?: string }[]) => steps.flatMap((s) => (s.run?.startsWith('npx falip') ? [s.run] : []));
    const shell = (cmd: string, shard?: number) =>
      run('bash', ['-c', cmd.replace('npx falip', `${process.execPath} ${BIN}`).replaceAll('${{ matrix.shard }}', String(shard))], {
        env: { ...process.env, SHARDS: String(SHARDS), SWEEP },
        cwd: root,
      });
    const [shardStep] = falipSteps(workflow.jobs.shard.steps);
    for (let k = 0; k < SHARDS; k++) await shell(shardStep!, k);
    const [mergeStep] = falipSteps(workflow.jobs.merge.steps);
    await shell(mergeStep!);
    for (const f of ['table.md', 'table.csv', 'accuracy-vs-alpha.png', 'accuracy-vs-sigma.png']) expect(existsSync(path.join(root, 'results/sweep', f)), f).toBe(true);
  });
});
