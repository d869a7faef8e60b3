/**
 * `falip sweep`: grid expansion into one table config, the plots (a point per grid value per curve,
 * the paper's curve overlaid), the --fail-below gate, and one tiny sweep end to end on a demo set.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bestSetting, checkFailBelow, register } from '../../src/cli/sweep.js';
import { writeDemoSet } from '../../src/tasks/rec/demo-set.js';
import { linePlot } from '../../src/report/plot.js';
import {
  PAPER_CURVE_LABEL,
  paperNumbersAt,
  readPaperSweeps,
  type PaperSweeps,
} from '../../src/experiments/paper-curves.js';
import { completeAxes, gridPoints, sweepConfig, type SweepPoint } from '../../src/experiments/sweep-grid.js';
import { sweepPlots, type MeasuredPoint, type SweepRowResult } from '../../src/experiments/sweep-plots.js';
import { CheckFailed } from '../../src/util/errors.js';
import { recTask } from '../../src/tasks/rec/index.js';
import { runInProcess } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

let paper: PaperSweeps;
beforeAll(async () => {
  paper = await readPaperSweeps();
});

/** Point marks per series name, read from the marks' aria labels. */
function pointsPerSeries(svg: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [, name] of svg.matchAll(
    /<path aria-label="[^"]*series: ([^;"]+)[^"]*"[^>]*aria-roledescription="point"/g,
  )) {
    counts.set(name!, (counts.get(name!) ?? 0) + 1);
  }
  return counts;
}

describe('sweep grid', () => {
  it("fills the paper's defaults for every axis left out", () => {
    const axes = completeAxes({ alpha: [0.05, 0.1] });
    expect(axes).toEqual({ alpha: [0.05, 0.1], sigma: [100], layers: [null], form: ['a'] });
    expect(completeAxes({ sigma: [] }).sigma).toEqual([100]);
  });

  it('expands the cartesian product into unique, valid row keys', () => {
    const axes = completeAxes({
      alpha: [0.05, 0.2, 0.6],
      sigma: [1, 100],
      layers: ['9-12', '1,3,5-7', '12'],
      form: ['a', 'c'],
    });
    const points = gridPoints(axes);
    expect(points).toHaveLength(3 * 2 * 3 * 2);
    expect(new Set(points.map((p) => p.key)).size).toBe(points.length);
    const cfg = sweepConfig({
      dataset: 'refcoco',
      splits: ['testA', 'val'],
      task: recTask,
      options: { setting: 'gold' },
      axes,
    });
    expect(cfg.name).toBe('sweep-refcoco');
    expect(cfg.columns.map((c) => c.key)).toEqual(['refcoco/testA', 'refcoco/val']);
    expect(cfg.average).toBe(true);
    expect(cfg.rows).toHaveLength(36);
    expect(cfg.rows[0]).toMatchObject({
      key: 'a0.05-s1-l9-12-fa',
      options: { setting: 'gold' },
      methods: [{ name: 'falip', params: { alpha: 0.05, sigma: 1, layers: '9-12', form: 'a' } }],
    });
  });

  it('keeps a layer selection with commas whole, one selection per list entry', () => {
    const axes = completeAxes({ layers: ['1,3,5-7', ' 9 - 12 ', '9-12'] });
    expect(axes.layers).toEqual(['1,3,5-7', '9-12']);
    const [first] = gridPoints(axes);
    expect(first).toMatchObject({ key: 'a0.2-s100-l1+3+5-7-fa', layers: '1,3,5-7' });
    expect(first!.label).toContain('layers 1,3,5-7');
  });

  it("uses the paper's default as baseline and carries the paper's numbers of the evaluated splits", () => {
    const axes = completeAxes({ alpha: [0.05, 0.2], sigma: [100, 1] });
    const cfg = sweepConfig(
      { dataset: 'refcoco', splits: ['testA'], task: recTask, options: { setting: 'gold' }, axes },
      paperNumbersAt(paper),
    );
    expect(cfg.average).toBe(false);
    expect(cfg.baseline).toBe('a0.2-s100-llast4-fa');
    const paperOf = (key: string) => cfg.rows.find((r) => r.key === key)!.paper;
    expect(paperOf('a0.05-s100-llast4-fa')).toEqual({ 'refcoco/testA': 39.9 }); // Table 10
    expect(paperOf('a0.2-s1-llast4-fa')).toEqual({ 'refcoco/testA': 35.0 }); // Table 11
    expect(paperOf('a0.05-s1-llast4-fa')).toEqual({}); // in neither table
    const prop = sweepConfig(
      { dataset: 'refcoco', splits: ['testA'], task: recTask, options: { setting: 'prop' }, axes },
      paperNumbersAt(paper),
    );
    expect(prop.rows.every((r) => Object.keys(r.paper).length === 0)).toBe(true);
    const subtract = sweepConfig(
      { dataset: 'refcoco', splits: ['testA'], task: recTask, options: { setting: 'gold', subtract: true }, axes },
      paperNumbersAt(paper),
    );
    expect(subtract.rows.every((r) => Object.keys(r.paper).length === 0)).toBe(true);
  });
});

describe('sweep plots', () => {
  const axes = completeAxes({ alpha: [0.05, 0.2, 0.6], sigma: [1, 100], layers: ['9-12', '12'] });
  const measured: MeasuredPoint[] = gridPoints(axes).map((point, i) => ({ point, accuracy: 20 + i }));

  it('draws a point per grid value on each curve, beside the paper curve clipped to the measured range', async () => {
    const plots = sweepPlots(measured, axes, paper, 'refcoco (mean of 3 splits)');
    expect(plots.map((p) => p.file)).toEqual(['accuracy-vs-alpha', 'accuracy-vs-sigma']);
    const [alpha, sigma] = await Promise.all(plots.map((p) => linePlot(p.spec)));
    expect(Object.fromEntries(pointsPerSeries(alpha!.svg))).toEqual({
      'σ 1, layers 9-12': 3,
      'σ 1, layers 12': 3,
      'σ 100, layers 9-12': 3,
      'σ 100, layers 12': 3,
      [PAPER_CURVE_LABEL]: paper.alpha.length,
    });
    expect(Object.fromEntries(pointsPerSeries(sigma!.svg))).toEqual({
      'α 0.05, layers 9-12': 2,
      'α 0.05, layers 12': 2,
      'α 0.2, layers 9-12': 2,
      'α 0.2, layers 12': 2,
      'α 0.6, layers 9-12': 2,
      'α 0.6, layers 12': 2,
      [`${PAPER_CURVE_LABEL}, clipped to the σ measured`]: paper.sigma.filter((r) => r.x >= 1 && r.x <= 100).length,
    });
    expect(paper.alpha).toHaveLength(7);
    expect(paper.sigma).toHaveLength(7);
    expect(plots[1]!.spec.logX).toBe(true);
  });

  it('skips the plot of an axis held at one value', () => {
    const oneSigma = completeAxes({ alpha: [0.05, 0.2] });
    const plots = sweepPlots(
      gridPoints(oneSigma).map((point) => ({ point, accuracy: 30 })),
      oneSigma,
      paper,
      'demo/val',
    );
    expect(plots.map((p) => p.file)).toEqual(['accuracy-vs-alpha']);
  });
});

describe('--fail-below', () => {
  const row = (point: SweepPoint, accuracy: number | null): SweepRowResult => ({ ...point, accuracy, cells: [] });
  const [p1, p2, p3] = gridPoints(completeAxes({ alpha: [0.05, 0.2, 0.6] }));
  const rows = [row(p1!, 40), row(p2!, 45.5), row(p3!, null)];

  it('names the best setting, the first one on ties', () => {
    expect(bestSetting(rows)).toEqual({ row: p2!.key, label: p2!.label, accuracy: 45.5 });
    expect(bestSetting([row(p1!, 50), row(p2!, 50)])!.row).toBe(p1!.key);
    expect(bestSetting([row(p3!, null)])).toBeNull();
  });

  it('fails only when the best accuracy is below the threshold', () => {
    const best = bestSetting(rows);
    expect(() => checkFailBelow(best, 45.5)).not.toThrow();
    expect(() => checkFailBelow(best, 0)).not.toThrow();
    expect(() => checkFailBelow(best, 46)).toThrow(CheckFailed);
    expect(() => checkFailBelow(best, 46)).toThrow(`best setting ${p2!.key}`);
    expect(() => checkFailBelow(null, 0)).toThrow(CheckFailed);
  });
});

describe('falip sweep end to end', () => {
  const dirs = useTempFalipDirs('falip-sweep-');
  let tmp: string;

  beforeAll(async () => {
    tmp = dirs.root();
    await writeDemoSet(process.env.FALIP_DATASETS, { images: 3 });
  });

  /** The command as main() runs it: errors propagate to the caller, which maps CheckFailed to exit 1. */
  async function sweep(...args: string[]): Promise<{ stdout: string }> {
    const grid = ['--alpha', '0.05,0.6', '--sigma', '1,100', '--layers', '12', '--layers', '10,12'];
    const printed = await runInProcess(register, [
      'sweep',
      'demo',
      ...grid,
      '--limit',
      '4',
      '--device',
      'cpu',
      '--out',
      path.join(tmp, 'out'),
      ...args,
    ]);
    return { stdout: printed.join('\n') };
  }

  it('fails with --fail-below 101, passes with --fail-below 0, and writes the table and plots', async () => {
    const failed = sweep('--json', '--fail-below', '101');
    await expect(failed).rejects.toThrow(CheckFailed);
    await expect(failed).rejects.toThrow(/best setting a[^ ]+ \(α .*\) reaches [\d.]+%, below --fail-below 101/);

    const { stdout } = await sweep('--json', '--fail-below', '0');
    const out = JSON.parse(stdout) as {
      dir: string;
      best: { row: string; accuracy: number };
      rows: SweepRowResult[];
      plots: string[];
    };
    expect(out.rows).toHaveLength(2 * 2 * 2);
    expect(out.rows.map((r) => r.key)).toContain('a0.05-s1-l10+12-fa');
    expect(out.best.accuracy).toBe(Math.max(...out.rows.map((r) => r.accuracy!)));
    expect(out.plots.map((p) => path.basename(p))).toEqual([
      'accuracy-vs-alpha.svg',
      'accuracy-vs-alpha.png',
      'accuracy-vs-sigma.svg',
      'accuracy-vs-sigma.png',
    ]);
    for (const f of [...out.plots, path.join(out.dir, 'table.csv'), path.join(out.dir, 'table.md')])
      expect(existsSync(f), f).toBe(true);
    const alphaPoints = pointsPerSeries(readFileSync(out.plots[0]!, 'utf8'));
    // Curves that measured the same numbers are drawn once under all their names; every curve has a point
    // per α, and the demo dataset is not the paper's, so no paper curve.
    const named = [...alphaPoints.keys()].flatMap((name) => name.split(' = ')).sort();
    expect(named).toEqual(['σ 1, layers 10,12', 'σ 1, layers 12', 'σ 100, layers 10,12', 'σ 100, layers 12']);
    expect([...alphaPoints.values()].every((n) => n === 2)).toBe(true);

    const text = await sweep();
    expect(text.stdout).toContain(`best: `);
    expect(text.stdout).toContain(`plot: ${out.plots[2]}`);
  });
});
