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
import { shardOfId } from '../../src/tasks/shared/sample-subset.js';
import { BIN, expectOk, REPO, runFalip, type CliResult } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

/** The shipped example scripts, run with bash. */
const run = promisify(execFile);
const dirs = useTempFalipDirs('falip-shards-');

/** The CLI in a child process (asynchronous, so shards run at once); it must exit 0. */
async function falip(...args: string[]): Promise<CliResult> {
  return expectOk(await runFalip(args));
}

/** The CLI in a child process that must fail: its exit code and stderr. */
async function falipFails(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const r = await runFalip(args);
  expect(r.status, `falip ${args.join(' ')} succeeded`).not.toBe(0);
  return { code: r.status, stderr: r.stderr };
}

/** The lines of a records.jsonl: none for an empty file (where splitting '' would yield ['']). */
function recordLines(file: string): string[] {
  const text = readFileSync(file, 'utf8').trim();
  return text === '' ? [] : text.split('\n');
}

const TABLE_FILES = ['metrics.json', 'table.csv', 'table.md'];
/** Two methods: what a shard holds does not depend on how many rows it has, and the demo's five defaults only take longer. */
const EVAL_DEMO = ['eval', 'demo', '--method', 'falip,redcircle'] as const;
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
    // Pinned: the hash (first 4 bytes of the id's SHA-256, big-endian, mod N) must not change, or a
    // resumed or merged run would mix two partitions.
    expect(counts).toEqual([81, 107, 112]);
    expect(ids.slice(0, 12).map((id) => shardOfId(id, 3))).toEqual([2, 1, 0, 0, 1, 1, 0, 2, 0, 1, 1, 1]);
    expect(['ref-0', 'ref-1', 'ref-2', 'ref-3'].map((id) => shardOfId(id, 8))).toEqual([3, 7, 0, 4]);
  });

  it('three shards run at once and merged equal one unsharded run, file for file', async () => {
    const out = (name: string) => path.join(root, name);
    await Promise.all(
      [0, 1, 2].map((k) => falip(...EVAL_DEMO, '--shard', `${k}/3`, '--out', out(`shard-${k}`), '--device', 'cpu')),
    );
    await falip(...EVAL_DEMO, '--out', out('whole'), '--device', 'cpu');
    const merged = await falip('merge', out('shard-0'), out('shard-1'), out('shard-2'), '--out', out('merged'));
    expect(merged.stderr).toContain('merged 3 shards');
    for (const f of TABLE_FILES)
      expect(readFileSync(out(`merged/${f}`), 'utf8'), f).toBe(readFileSync(out(`whole/${f}`), 'utf8'));
    // Each shard holds only its own items, and together they hold every record once.
    const records = [0, 1, 2].map((k) => recordLines(out(`shard-${k}/records.jsonl`)));
    for (const [k, r] of records.entries()) expect(r.length, `shard ${k}`).toBeGreaterThan(0);
    expect(records.flat().length).toBe(recordLines(out('whole/records.jsonl')).length);
    // The merged run has the unsharded run's key: it is the same run.
    expect(JSON.parse(readFileSync(out('merged/run.json'), 'utf8')).config_hash).toBe(
      JSON.parse(readFileSync(out('whole/run.json'), 'utf8')).config_hash,
    );
  });

  it('merge refuses a missing shard, two copies of one, a shard of another run and an unfinished one', async () => {
    const out = (name: string) => path.join(root, name);
    const missing = await falipFails('merge', out('shard-0'), out('shard-2'), '--out', out('m1'));
    expect(missing).toEqual({ code: 2, stderr: 'falip: shard 1/3 is missing (given: 0, 2)\n' });
    const twice = await falipFails(
      'merge',
      out('shard-0'),
      out('shard-1'),
      out('shard-1'),
      out('shard-2'),
      '--out',
      out('m2'),
    );
    expect(twice.code).toBe(2);
    expect(twice.stderr).toBe(`falip: shard 1/3 is given twice: ${out('shard-1')} and ${out('shard-1')}\n`);
    await falip(
      'eval',
      'demo',
      '--shard',
      '1/3',
      '--alpha',
      '0.5',
      '--method',
      'falip',
      '--out',
      out('other-1'),
      '--device',
      'cpu',
    );
    const foreign = await falipFails('merge', out('shard-0'), out('other-1'), out('shard-2'), '--out', out('m3'));
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(
      new RegExp(`^falip: ${out('other-1')}: another run than ${out('shard-0')} \\(run key`),
    );
    // Cut the last record of a shard, as a killed job leaves it.
    const file = out('shard-2/records.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`);
    const unfinished = await falipFails('merge', out('shard-0'), out('shard-1'), out('shard-2'), '--out', out('m4'));
    expect(unfinished.code).toBe(2);
    expect(unfinished.stderr).toBe(
      `falip: ${out('shard-2')}: shard 2/3 is incomplete (${lines.length - 1} of ${lines.length} records): re-run its command to finish it\n`,
    );
    // Re-running the shard's command resumes it to complete, and the merge goes through.
    await falip(...EVAL_DEMO, '--shard', '2/3', '--out', out('shard-2'), '--device', 'cpu');
    await falip('merge', out('shard-0'), out('shard-1'), out('shard-2'), '--out', out('m4'));
    for (const f of TABLE_FILES)
      expect(readFileSync(out(`m4/${f}`), 'utf8'), f).toBe(readFileSync(out(`whole/${f}`), 'utf8'));
    expect(await falipFails(...EVAL_DEMO, '--shard', '3/3', '--out', out('bad'))).toEqual({
      code: 2,
      stderr:
        'falip: --shard 3/3: expected K/N with 0 ≤ K < N, e.g. 0/8 (shards are numbered from 0, like SLURM array ids)\n',
    });
  });
});

describe('the shipped examples', () => {
  it('SLURM: the array tasks and the merge run with plain bash, array ids set by hand', async () => {
    const config = path.join(root, 'demo-table.yaml');
    writeFileSync(
      config,
      [
        'name: demo-table',
        'title: Demo',
        'task: rec',
        'columns: [demo/val]',
        'rows:',
        '  - { key: falip, label: FALIP, methods: [falip] }',
        '  - { key: rc, label: RedCircle, methods: [redcircle] }',
        '',
      ].join('\n'),
    );
    const env = {
      ...process.env,
      CONFIG: config,
      SHARDS: '3',
      RUN: path.join(root, 'slurm/demo'),
      MODEL: 'tiny',
      FALIP: `${process.execPath} ${BIN}`,
      FALIP_ARGS: '--device cpu',
    };
    await Promise.all(
      [0, 1, 2].map((k) =>
        run('bash', [path.join(REPO, 'examples/slurm/table-shard.sbatch')], {
          env: { ...env, SLURM_ARRAY_TASK_ID: String(k) },
          cwd: REPO,
        }),
      ),
    );
    await run('bash', [path.join(REPO, 'examples/slurm/merge.sbatch')], { env, cwd: REPO });
    const metrics = JSON.parse(readFileSync(path.join(root, 'slurm/demo/metrics.json'), 'utf8')) as {
      rows: unknown[];
      items: number;
    };
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
      jobs: {
        shard: { strategy: { matrix: { shard: number[] } }; steps: { run?: string }[] };
        merge: { needs: string; steps: { run?: string }[] };
      };
    };
    const { SHARDS, SWEEP } = workflow.env;
    expect(workflow.jobs.shard.strategy.matrix.shard).toEqual(Array.from({ length: SHARDS }, (_, i) => i));
    expect(workflow.jobs.merge.needs).toBe('shard');
    const falipSteps = (steps: { run?: string }[]) =>
      steps.flatMap((s) => (s.run?.startsWith('npx falip') ? [s.run] : []));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the workflow's own GitHub expression, substituted as the runner would
    const matrixShard = '${{ matrix.shard }}';
    const shell = (cmd: string, shard?: number) =>
      run(
        'bash',
        ['-c', cmd.replace('npx falip', `${process.execPath} ${BIN}`).replaceAll(matrixShard, String(shard))],
        {
          env: { ...process.env, SHARDS: String(SHARDS), SWEEP },
          cwd: root,
        },
      );
    const [shardStep] = falipSteps(workflow.jobs.shard.steps);
    for (let k = 0; k < SHARDS; k++) await shell(shardStep!, k);
    const [mergeStep] = falipSteps(workflow.jobs.merge.steps);
    await shell(mergeStep!);
    for (const f of ['table.md', 'table.csv', 'accuracy-vs-alpha.png', 'accuracy-vs-sigma.png'])
      expect(existsSync(path.join(root, 'results/sweep', f)), f).toBe(true);
  });
});
