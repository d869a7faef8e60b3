import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkClsDataset } from '../../src/tasks/classification/check-cls.js';
import { readClasses, readClsManifest } from '../../src/tasks/classification/cls-manifest.js';
import { writeClsDemoSet } from '../../src/tasks/classification/demo-cls.js';
import { UserError } from '../../src/util/errors.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { writeDatasetFile } from '../helpers/dataset-files.js';

const dirs = useTempFalipDirs('falip-cls-check-');

/** A fresh 6-image demo set to break by hand, as a faulty converter might. */
async function demoSet(name: string): Promise<{ dir: string; manifest: string; lines: Record<string, unknown>[] }> {
  const { dir } = await writeClsDemoSet(join(dirs.root(), name), { images: 6, seed: 1 });
  const manifest = join(dir, 'manifest.jsonl');
  const lines = (await readFile(manifest, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { dir, manifest, lines };
}

describe('EXPECTED FAILURE: checkClsDataset reports every problem as file:line: field', () => {
  let broken: Awaited<ReturnType<typeof demoSet>>;

  beforeAll(async () => {
    broken = await demoSet('broken');
    const [l1, l2, l3, l4, l5, l6] = broken.lines as [Record<string, unknown>, ...Record<string, unknown>[]];
    const width = l6!.width as number;
    const edited = [
      l1,
      { ...l2, label: 18 },
      { ...l3, id: l1.id },
      { ...l4, box: [1000, 1000, 5, 5] },
      { ...l5, width: (l5!.width as number) + 1 },
      { ...l6, box: [width - 4, 0, 10, 10] },
      { id: 'extra' },
    ];
    writeDatasetFile(broken.dir, 'manifest.jsonl', `${edited.map((l) => JSON.stringify(l)).join('\n')}\n`);
  });

  it('labels out of range, duplicate ids, boxes outside, wrong sizes, bad lines', async () => {
    const m = broken.manifest;
    const l5 = broken.lines[4]!;
    const l6 = broken.lines[5]!;
    const report = await checkClsDataset(broken.dir);
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual([
      `${m}:2: label: 18 is out of range (${join(broken.dir, 'classes.json')} has 18 classes)`,
      `${m}:3: id: duplicate id ${String(broken.lines[0]!.id)} (first at ${m}:1)`,
      `${m}:4: box: box [1000, 1000, 5, 5] lies entirely outside the ${String(broken.lines[3]!.width)}×${String(broken.lines[3]!.height)} image`,
      `${m}:7: image: missing`,
      `${m}:5: width/height: recorded ${(l5.width as number) + 1}×${String(l5.height)}, ${join(broken.dir, 'images', String(l5.image))} is ${String(l5.width)}×${String(l5.height)}`,
    ]);
    expect(report.warnings).toEqual([
      `${m}:6: box: box [${(l6.width as number) - 4}, 0, 10, 10] extends outside the ${String(l6.width)}×${String(l6.height)} image`,
    ]);
    expect(report.counts).toMatchObject({ images: 6, classes: 18 });
  });

  it('a broken classes.json is an error, and the rest is still checked', async () => {
    const { dir } = await demoSet('bad-classes');
    const path = join(dir, 'classes.json');
    const classes = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    writeDatasetFile(dir, 'classes.json', JSON.stringify({ ...classes, template: 'a photo' }));
    const report = await checkClsDataset(dir);
    expect(report.errors).toEqual([`${path}: template: expected exactly one {} (where the class name goes)`]);
    await expect(readClasses(dir)).rejects.toThrow(UserError);
  });
});

describe('readClsManifest', () => {
  it('accepts a BOM and names the file, line and field of the first bad line', async () => {
    const path = join(dirs.root(), 'manifest.jsonl');
    const good = { id: 'a', image: 'x.png', width: 4, height: 4, label: 0, box: [0, 0, 2, 2] };
    await writeFile(path, `\uFEFF${JSON.stringify(good)}\n`);
    expect(await readClsManifest(path)).toEqual([good]);
    await writeFile(path, `${JSON.stringify(good)}\n\n${JSON.stringify({ ...good, id: 'b', box: [0, 0, 2] })}\n`);
    await expect(readClsManifest(path)).rejects.toThrow(`${path}:3: box: expected 4 numbers`);
    await writeFile(path, `${JSON.stringify({ ...good, label: -1 })}\n`);
    await expect(readClsManifest(path)).rejects.toThrow(`${path}:1: label: `);
  });
});
