/**
 * `falip analyze heads` end to end on the generated demo sets (REC and classification) with the tiny
 * model: the ranking, the files it writes, determinism, and the input errors.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/analyze.js';
import type { HeadSensitivityRow } from '../../src/analysis/head-sensitivity.js';
import { UserError } from '../../src/util/errors.js';
import { runInProcess } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';

const dirs = useTempFalipDirs('falip-heads-');
let modelDir: string;

interface HeadsJson {
  task: string;
  prompt: { name: string; params: Record<string, unknown> };
  samples: { boxes: number; total: number; used: number };
  heads: HeadSensitivityRow[];
}

/** Runs the command; returns what it printed on stdout. */
function analyze(...args: string[]): Promise<string[]> {
  return runInProcess(register, ['analyze', 'heads', ...args, '--model', modelDir, '--device', 'cpu']);
}

beforeAll(async () => {
  modelDir = (await tinyModel()).dir;
});

afterAll(() => removeTinyModels());

describe('falip analyze heads', () => {
  it("ranks FALIP's heads on REC targets: layers 1-8 never move; CSV, JSON and heatmaps are written, the same each time", async () => {
    const out = path.join(dirs.root(), 'heads');
    const [json] = await analyze('demo', '--limit', '6', '--prompt', 'falip', '--alpha', '2', '--out', out, '--json');
    const result = JSON.parse(json!) as HeadsJson;
    expect(result.task).toBe('rec');
    expect(result.prompt).toMatchObject({ name: 'falip', params: { alpha: 2 } });
    expect(result.samples).toMatchObject({ boxes: 6, used: 6, total: 57 });
    expect(result.heads).toHaveLength(48);
    expect(result.heads.filter((r) => r.layer <= 8).every((r) => r.change === 0)).toBe(true);
    expect(result.heads.slice(0, 16).every((r) => r.layer >= 9)).toBe(true);
    const csv = readFileSync(path.join(out, 'heads.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'rank,layer,head,change,norm_plain,entropy_plain,entropy_prompted,in_box_plain,in_box_prompted',
    );
    expect(csv).toHaveLength(49);
    expect((await sharp(path.join(out, 'heads.png')).metadata()).width).toBeGreaterThan(500);
    const first = readFileSync(path.join(out, 'heads.json'), 'utf8');
    await analyze('demo', '--limit', '6', '--prompt', 'falip', '--alpha', '2', '--out', out, '--json');
    expect(readFileSync(path.join(out, 'heads.json'), 'utf8')).toBe(first);
  });

  it('prints the top heads for RedCircle on classification boxes', async () => {
    const lines = await analyze('demo-cls', '--limit', '4', '--prompt', 'redcircle', '--top', '3');
    expect(lines[0]).toMatch(/^redcircle vs original, demo-cls\/val: 4 boxes \(4 of \d+ images\)/);
    const table = lines.slice(lines.findIndex((l) => l.startsWith('rank')) + 1);
    expect(table).toHaveLength(3);
    expect(table[0]).toMatch(/^\s+1\s+\d+\s+\d+\s+\d+\.\d{4}/);
  });

  it.each([
    [['demo', '--prompt', 'replace-v'], /ablation \(two-stream\)/],
    [['demo', '--prompt', 'nosuch'], /unknown method 'nosuch'/],
    [['nosuch-set', '--prompt', 'redcircle'], /give --split/],
    [['demo', '--prompt', 'redcircle', '--alpha', '1'], /--alpha: not read by method redcircle/],
  ])('refuses %j with a one-line error', async (args, message) => {
    await expect(analyze(...args)).rejects.toThrow(UserError);
    await expect(analyze(...args)).rejects.toThrow(message);
  });
});
