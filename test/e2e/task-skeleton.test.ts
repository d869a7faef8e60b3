/**
 * Adding a task takes its folder and one line in src/tasks/task-list.ts: the swatch task in
 * test/helpers/dummy-task/ is added by mocking that one module, and then imports, checks, evaluates
 * and shows in eval's help through the generic machinery, with nothing else changed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { falipInProcess as falip } from '../helpers/cli.js';
import { swatchTask } from '../helpers/dummy-task/index.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

vi.mock('../../src/tasks/task-list.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/tasks/task-list.js')>();
  const { swatchTask: added } = await import('../helpers/dummy-task/index.js');
  return { TASKS: [...actual.TASKS, added] };
});

const dirs = useTempFalipDirs('falip-skeleton-');

async function writeSwatchRelease(root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  const fills = { red: [220, 30, 30], green: [30, 200, 40], blue: [30, 40, 210] } as const;
  const list: string[] = [];
  for (const [k, colour] of (['red', 'green', 'blue', 'red'] as const).entries()) {
    const [r, g, b] = fills[colour];
    await sharp({ create: { width: 32, height: 24, channels: 3, background: { r, g, b } } })
      .png()
      .toFile(path.join(root, `s${k}.png`));
    list.push(`s${k}.png ${colour}`);
  }
  await writeFile(path.join(root, 'labels.txt'), `${list.join('\n')}\n`);
}

describe('a new task is its folder plus one registry line', () => {
  it('the task folder imports nothing from other tasks', () => {
    const folder = path.resolve(import.meta.dirname, '../helpers/dummy-task');
    for (const file of readdirSync(folder)) {
      const text = readFileSync(path.join(folder, file), 'utf8');
      expect(text, file).not.toMatch(/src\/tasks\/(rec|classification|pointcloud)\//);
    }
    expect(swatchTask.name).toBe('swatch-colours');
  });

  it('imports, checks and evaluates through the generic commands, and shows in their help', async () => {
    const help = await falip('eval', '--help');
    expect(help.out).toContain('colour naming: swatches');
    expect((await falip('data', 'import', '--help')).out).toContain('swatches');

    const release = path.join(dirs.root(), 'release');
    await writeSwatchRelease(release);
    const imported = await falip('data', 'import', 'swatches', '--root', release);
    expect(imported.code, imported.err).toBe(0);
    const checked = await falip('data', 'check', 'swatches', '--json');
    expect(checked.code, checked.err).toBe(0);
    expect(JSON.parse(checked.out)).toMatchObject({ ok: true, counts: { images: 4 } });

    const out = path.join(dirs.root(), 'run');
    const evaluated = await falip(
      'eval',
      'swatches',
      '--model',
      'tiny',
      '--method',
      'plain,falip',
      '--out',
      out,
      '--json',
    );
    expect(evaluated.code, evaluated.err).toBe(0);
    const result = JSON.parse(evaluated.out.slice(evaluated.out.indexOf('{')));
    expect(result.rows.map((r: { key: string }) => r.key)).toEqual(['plain', 'falip']);
    const records = (await readFile(path.join(out, 'records.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(8);
    expect(new Set(records.map((r: { split: string }) => r.split))).toEqual(new Set(['swatches/all']));
    expect(records.every((r: { label: number; top5: number[] }) => r.top5.length === 3)).toBe(true);
  });

  it('a dataset.json naming no registered task is one line naming the file', async () => {
    const dir = path.join(dirs.root(), 'datasets', 'swatches', 'all');
    const info = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8'));
    await writeFile(path.join(dir, 'dataset.json'), JSON.stringify({ ...info, task: 'no-such-task' }));
    const r = await falip('data', 'check', dir);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `falip: ${dir}: unknown task "no-such-task" (falip knows rec, classification, pointcloud, swatch-colours)\n`,
    );
  });
});
