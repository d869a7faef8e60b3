/**
 * `falip run`: the shipped demo config runs on a fresh clone; a config with nothing to run is an input
 * error that leaves no folder; a partly imported one says what is missing, and --require-all fails it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, expectUserError, REPO, runFalip } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-run-config-');

describe('falip run', () => {
  it('runs configs/demo.yaml on the demo set it generates', async () => {
    const r = expectOk(await runFalip(['run', 'configs/demo.yaml', '--limit', '4', '--json']));
    const rows = JSON.parse(r.stdout).rows as { key: string; cells: { ours: { n: number } | null }[] }[];
    expect(rows.map((row) => row.key)).toEqual([
      'plain',
      'falip',
      'falip-a1',
      'falip-p',
      'redcircle',
      'crop',
      'blur',
      'ensemble',
    ]);
    expect(rows.every((row) => row.cells[0]!.ours!.n > 0)).toBe(true);
  });

  it('with nothing imported: exit 2, one line naming an import command, and no results folder', async () => {
    const r = await runFalip(['run', path.join(REPO, 'configs', 'table1.yaml')]);
    expectUserError(r, 'table1: nothing to run', 'refcoco/testA', '`falip data import refcoco');
    expect(
      existsSync(process.env.FALIP_RESULTS!)
        ? readdirSync(process.env.FALIP_RESULTS!).filter((d) => d.startsWith('table1'))
        : [],
    ).toEqual([]);
  });

  it('partly imported: exit 0 naming what is missing on stderr; --require-all makes it exit 1', async () => {
    const config = path.join(dirs.root(), 'partial.yaml');
    await writeFile(
      config,
      [
        'name: partial',
        'title: Partial',
        'task: rec',
        'columns: [demo/val, refcoco/testA]',
        'rows:',
        '  - { key: falip, label: FALIP, methods: [falip] }',
        '',
      ].join('\n'),
    );
    const ok = expectOk(await runFalip(['run', config, '--limit', '2']));
    expect(ok.stderr).toContain(
      'falip: refcoco/testA is not imported, its cells are empty: run `falip data import refcoco',
    );
    const strict = await runFalip(['run', config, '--limit', '2', '--require-all']);
    expect(strict.status, strict.stderr).toBe(1);
    expect(strict.stderr).toContain('--require-all: 1 split(s) of partial are not imported (refcoco/testA)');
  });
});
