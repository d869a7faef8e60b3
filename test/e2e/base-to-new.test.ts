/**
 * `falip run configs/base-to-new.yaml` end to end: OxfordPets (with FVG-PT masks) and DTD written in
 * CoOp's release layouts, imported, two prompt sets per dataset (the IVLP and MaPLe fixtures standing for
 * seeds 1 and 2), on the tiny model. Checks each half's image counts, H from its row's base and new, the
 * seeds' mean and sd from their own records, and the datasets and seed not imported.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseString } from 'fast-csv';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvalRecord } from '../../src/report/records.js';
import { importModel } from '../../src/model/model-registry.js';
import { writeBaseToNewReleases } from '../helpers/base-to-new-fixtures.js';
import { falipInProcess } from '../helpers/cli.js';
import { pthFixture } from '../helpers/pth-fixtures.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { tinyModel } from '../helpers/tiny-model.js';

const dirs = useTempFalipDirs('falip-base-to-new-');
const CONFIG = path.resolve(import.meta.dirname, '../../configs/base-to-new.yaml');

async function ok(...args: string[]): Promise<string> {
  const r = await falipInProcess(...args);
  expect(r.code, r.err).toBe(0);
  return r.out;
}

function readCsv(file: string): Promise<Record<string, string>[]> {
  return new Promise((resolve, reject) => {
    const rows: Record<string, string>[] = [];
    parseString(readFileSync(file, 'utf8'), { headers: true })
      .on('data', (r: Record<string, string>) => rows.push(r))
      .on('end', () => resolve(rows))
      .on('error', reject);
  });
}

let out: string;
let cells: Map<string, Record<string, string>>;
let records: EvalRecord[];

beforeAll(async () => {
  await importModel((await tinyModel()).dir, 'tiny3');
  const rel = await writeBaseToNewReleases(path.join(dirs.root(), 'release'));
  expect(
    await ok('data', 'import', 'coop', '--dataset', 'oxford_pets', '--root', rel.pets, '--masks', rel.masks),
  ).toContain('12 images, 6 classes, 12 box from mask');
  expect(await ok('data', 'import', 'coop', '--dataset', 'dtd', '--root', rel.dtd)).toContain('8 images, 4 classes');
  for (const dataset of ['oxford_pets', 'dtd'])
    for (const [seed, file] of [
      [1, 'ivlp.pth.tar-20'],
      [2, 'maple.pth.tar-5'],
    ] as const)
      await ok('prompts', 'import', pthFixture(file), '--model', 'tiny3', '--name', `prompt-${dataset}-s${seed}`);
  out = path.join(dirs.root(), 'run');
  await ok('run', CONFIG, '--model', 'tiny3', '--device', 'cpu', '--out', out);
  cells = new Map((await readCsv(path.join(out, 'table.csv'))).map((r) => [`${r.row}|${r.column}`, r]));
  records = readFileSync(path.join(out, 'records.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EvalRecord);
}, 120_000);

const cell = (row: string, column: string) => {
  const c = cells.get(`${row}|${column}`);
  if (!c) throw new Error(`no cell ${row} ${column}`);
  return c;
};
const accuracy = (row: string, split: string) => {
  const rs = records.filter((r) => r.row === row && r.split === split);
  return (100 * rs.filter((r) => r.correct).length) / rs.length;
};

describe('configs/base-to-new.yaml on two imported datasets', () => {
  it('evaluates each half on its own test images: pets 3 + 3 classes, DTD 2 + 2', () => {
    expect(cell('clip', 'oxford_pets/test/base:top1').n).toBe('6');
    expect(cell('clip', 'oxford_pets/test/new:top1').n).toBe('6');
    expect(cell('clip', 'oxford_pets/test:top1').n).toBe('12');
    expect(cell('clip', 'dtd/test/base:top1').n).toBe('4');
    expect(cell('clip', 'dtd/test/new:top1').n).toBe('4');
    // The new half's labels are relabelled 0..2: none of its records names a label outside its classes.
    const newHalf = records.filter((r) => r.split === 'oxford_pets/test/new');
    expect(newHalf.every((r) => (r as EvalRecord & { label: number }).label < 3 && Number(r.pred) < 3)).toBe(true);
  });

  it('H is 2BN/(B+N) of its row, the averages of the datasets run', () => {
    for (const row of ['clip', 'clip-falip', 'prompted', 'prompted-falip'])
      for (const d of ['oxford_pets', 'dtd']) {
        const b = Number(cell(row, `${d}/test/base:top1`).ours);
        const n = Number(cell(row, `${d}/test/new:top1`).ours);
        const h = cell(row, `${d}/test:H`).ours;
        if (b === 0 || n === 0) expect(Number(h)).toBe(0);
        else expect(Number(h)).toBeCloseTo((2 * b * n) / (b + n), 10);
      }
    // Datasets not imported leave the averages empty, as the paper's average needs all 11.
    expect(cell('clip', 'avg-H')).toMatchObject({ ours: '', status: 'not imported' });
    expect(cell('clip', 'imagenet/val/base:top1')).toMatchObject({ ours: '', status: 'not imported' });
  });

  it('a row over seeds shows their mean and sample sd, each seed from its own records', () => {
    for (const d of ['oxford_pets', 'dtd'])
      for (const half of ['base', 'new']) {
        const split = `${d}/test/${half}`;
        const seeds = [1, 2].map((s) => accuracy(`prompted@prompt-*-s${s}`, split));
        const c = cell('prompted', `${split}:top1`);
        expect(Number(c.ours)).toBeCloseTo((seeds[0]! + seeds[1]!) / 2, 10);
        expect(Number(c.sd)).toBeCloseTo(Math.abs(seeds[0]! - seeds[1]!) / Math.SQRT2, 10);
        expect(c.runs).toBe('2');
      }
    // Seed 3 was not imported: the table says where.
    const md = readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(md).toContain('(2 of 3)');
    expect(records.some((r) => r.row.endsWith('-s3'))).toBe(false);
  });
});
