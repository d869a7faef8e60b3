/**
 * `falip analyze attention` end to end on the generated demo-cls set with the tiny model (seed 3), the
 * base CLIP alone and beside an imported IVLP prompt set: what it prints, the files it writes, that the
 * same run writes the same bytes, and the input errors.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttentionReport } from '../../src/analysis/analyze-attention.js';
import { importModel } from '../../src/model/model-registry.js';
import { expectRefusal, falipInProcess } from '../helpers/cli.js';
import { pthFixture } from '../helpers/pth-fixtures.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { tinyModel } from '../helpers/tiny-model.js';

const dirs = useTempFalipDirs('falip-analyze-attention-');

const attention = (...args: string[]) =>
  falipInProcess('analyze', 'attention', 'demo-cls', '--model', 'tiny3', '--device', 'cpu', '--limit', '3', ...args);

beforeAll(async () => {
  await importModel((await tinyModel()).dir, 'tiny3');
  const imported = await falipInProcess(
    'prompts',
    'import',
    pthFixture('ivlp.pth.tar-20'),
    '--model',
    'tiny3',
    '--name',
    'ivlp',
  );
  expect(imported.code, imported.err).toBe(0);
});

describe('falip analyze attention', () => {
  it('without prompts: per layer, CLIP plain and falip, FALIP moving only layers 9-12; no prompt mass', async () => {
    const r = await attention('--method', 'plain,falip');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(
      'attention on demo-cls/val: 3 images (3 of 48), model tiny3, squash; foreground from boxes',
    );
    expect(r.out).toContain('CLIP plain (0 prompt tokens), means over 4 heads:');
    expect(r.out).toContain('CLIP falip (0 prompt tokens), means over 4 heads:');
    expect(r.out).not.toContain('ivlp');
    const json = await attention('--method', 'plain,falip', '--json');
    const report = JSON.parse(json.out) as AttentionReport;
    expect(report.series.map((s) => `${s.prompts} ${s.method}`)).toEqual(['CLIP plain', 'CLIP falip']);
    expect(report.rows).toHaveLength(2 * 48);
    expect(report.rows.every((x) => x.cls_prompt_mass === 0 && x.distance_w_prompt === x.distance_wo_prompt)).toBe(
      true,
    );
    const plain = report.rows.filter((x) => x.method === 'plain');
    const falip = report.rows.filter((x) => x.method === 'falip');
    plain.forEach((p, i) => {
      const f = falip[i]!;
      if (p.layer <= 8) expect(f).toEqual({ ...p, method: 'falip' });
    });
    const share = (rows: typeof plain) =>
      rows.filter((x) => x.layer >= 9).reduce((s, x) => s + x.cls_foreground_share, 0);
    expect(share(falip)).toBeGreaterThan(share(plain));
  });

  it('with an IVLP prompt set: its series beside the base CLIP, CLS looking at the prompts; files written the same twice', async () => {
    const out = path.join(dirs.root(), 'attn');
    const r = await attention('--prompts', 'ivlp', '--out', out);
    expect(r.code, r.err).toBe(0);
    for (const s of ['CLIP plain', 'CLIP falip', 'ivlp plain', 'ivlp falip'])
      expect(r.out).toContain(`${s} (${s.startsWith('ivlp') ? 3 : 0} prompt tokens)`);
    const report = JSON.parse(readFileSync(path.join(out, 'attention.json'), 'utf8')) as AttentionReport;
    expect(report.prompt_mask).toBe('zero');
    const ivlp = report.rows.filter((x) => x.prompts === 'ivlp');
    expect(ivlp).toHaveLength(2 * 48);
    expect(ivlp.reduce((s, x) => s + x.cls_prompt_mass, 0)).toBeGreaterThan(1);
    expect(ivlp.some((x) => x.distance_w_prompt !== x.distance_wo_prompt)).toBe(true);
    const csv = readFileSync(path.join(out, 'attention.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'prompts,method,layer,head,entropy_all,entropy_cls,distance_wo_prompt,distance_w_prompt,cls_prompt_mass,cls_foreground_share',
    );
    expect(csv).toHaveLength(1 + 4 * 48);
    for (const stem of [
      'entropy-all',
      'entropy-cls',
      'distance-wo-prompt',
      'distance-w-prompt',
      'cls-prompt-mass',
      'cls-foreground-share',
    ]) {
      expect(readFileSync(path.join(out, `attention-${stem}.svg`), 'utf8')).toContain('ivlp falip');
      expect((await sharp(path.join(out, `attention-${stem}.png`)).metadata()).width).toBe(1200);
    }
    const first = readFileSync(path.join(out, 'attention.csv'), 'utf8');
    await attention('--prompts', 'ivlp', '--out', out, '--json');
    expect(readFileSync(path.join(out, 'attention.csv'), 'utf8')).toBe(first);
  });

  it('refuses an unknown prompt set, a bad prompt mask and an ablation with one line each', async () => {
    await expectRefusal(await attention('--prompts', 'nope'), 'nope');
    await expectRefusal(await attention('--prompt-mask', 'half'), '--prompt-mask half: expected one of zero, cls');
    await expectRefusal(await attention('--method', 'feature-mask'), 'an ablation');
  });
});
