/**
 * Results you can find and collect: default folders under ./results of the working directory, named by what
 * ran; `falip results` lists them (complete or partial); `falip collect` writes one long CSV across runs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseString } from 'fast-csv';
import { describe, expect, it } from 'vitest';
import { expectOk, runFalip } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-results-');

function parseCsv(text: string): Promise<Record<string, string>[]> {
  return new Promise((resolve, reject) => {
    const rows: Record<string, string>[] = [];
    parseString(text, { headers: true })
      .on('data', (r: Record<string, string>) => rows.push(r))
      .on('end', () => resolve(rows))
      .on('error', reject);
  });
}

describe('falip results and falip collect', () => {
  it('a run without --out lands in ./results of the working directory, named by dataset and methods; --out is relative to it too', async () => {
    const cwd = dirs.root();
    const env = { FALIP_RESULTS: '' };
    expectOk(await runFalip(['eval', 'demo', '--method', 'falip,crop', '--limit', '2'], env, cwd));
    expect(readdirSync(path.join(cwd, 'results'))).toEqual([
      expect.stringMatching(/^eval-demo-falip\+crop-[0-9a-f]{12}$/),
    ]);
    expectOk(await runFalip(['eval', 'demo', '--limit', '2', '--out', 'mine/run'], env, cwd));
    expect(existsSync(path.join(cwd, 'mine', 'run', 'run.json'))).toBe(true);
  });

  it('lists runs with their command and state, and collects every cell of three runs of two models into one CSV', async () => {
    const root = path.join(dirs.root(), 'collected');
    const env = { FALIP_RESULTS: root };
    expectOk(
      await runFalip(
        ['model', 'random', '--arch', 'tiny', '--seed', '5', '--out', path.join(dirs.root(), 'tiny5')],
        env,
      ),
    );
    // The shipped demo model (the default) and another model, two methods each.
    expectOk(await runFalip(['eval', 'demo', '--limit', '3', '--method', 'plain,falip'], env));
    const tiny5 = path.join(dirs.root(), 'tiny5');
    expectOk(await runFalip(['eval', 'demo', '--limit', '3', '--method', 'plain,falip', '--model', tiny5], env));
    expectOk(await runFalip(['eval', 'demo-cls', '--limit', '4', '--method', 'plain,falip', '--alpha', '1'], env));
    // An interrupted run: complete no more, its last record gone.
    const partial = readdirSync(root).find((d) => d.startsWith('eval-demo-cls')) ?? 'none';
    const runJson = path.join(root, partial, 'run.json');
    const run = JSON.parse(await readFile(runJson, 'utf8'));
    delete run.complete;
    await writeFile(runJson, JSON.stringify(run));
    const records = (await readFile(path.join(root, partial, 'records.jsonl'), 'utf8')).trim().split('\n');
    await writeFile(path.join(root, partial, 'records.jsonl'), `${records.slice(0, -1).join('\n')}\n`);

    const listed = JSON.parse(expectOk(await runFalip(['results', '--json'], env)).stdout) as {
      name: string;
      complete: boolean;
      records: number;
      expected_records: number;
      command: string;
    }[];
    expect(listed).toHaveLength(3);
    const cls = listed.find((r) => r.name.startsWith('eval-demo-cls'))!;
    expect(cls).toMatchObject({ complete: false, records: 7, expected_records: 8 });
    expect(cls.command).toBe('falip eval demo-cls --limit 4 --method plain,falip --alpha 1');
    expect(expectOk(await runFalip(['results'], env)).stdout).toContain('[partial (7 of 8)]');

    const out = path.join(dirs.root(), 'all.csv');
    expectOk(await runFalip(['collect', root, '--out', out], env));
    const lines = await parseCsv(await readFile(out, 'utf8'));
    // demo: 2 rows × 1 column, twice (two models); demo-cls: 2 rows × 2 metrics.
    expect(lines).toHaveLength(2 + 2 + 4);
    expect(new Set(lines.map((l) => l.model_sha256)).size).toBe(2);
    const falipTop5 = lines.find((l) => l.dataset === 'demo-cls' && l.row === 'falip' && l.metric === 'top5')!;
    expect(falipTop5).toMatchObject({ split: 'val', alpha: '1', layers: '9-12', precision: 'fp32', complete: 'false' });
    expect(Number(falipTop5.n)).toBeGreaterThan(0);
    expect(lines.every((l) => /^[0-9a-f]{12}$/.test(l.run_key ?? ''))).toBe(true);
  });
});
