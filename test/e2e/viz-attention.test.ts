/**
 * `falip viz attention` on the tiny model: the figures (one per layer selection, methods as columns),
 * viz.json's numbers (the FALIP mask's effect, the text map's share of the score), the --show-layers /
 * --layers split, and the input errors. Plus the colour scales the figures and their legends share.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/viz.js';
import { hex, inferno, signedTint } from '../../src/report/colour-maps.js';
import { patchFigureSvg } from '../../src/report/patch-figure.js';
import { UserError } from '../../src/util/errors.js';
import { runInProcess } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';

const dirs = useTempFalipDirs('falip-viz-');
let modelDir: string;
let image: string;
const BOX = '40,30,120,100';

interface VizJson {
  attention: {
    layers: string;
    panels: { method: string; layer: number; head: number | 'mean'; in_box: number | null; cls_self: number }[];
  }[];
  text: {
    caption: string;
    maps: {
      method: string;
      score: number;
      layers: string;
      heads: string;
      shown_heads_share: number;
      all_heads_share: number;
      other_terms: number;
    }[];
  } | null;
  files: string[];
}

async function viz(...args: string[]): Promise<VizJson> {
  const printed = await runInProcess(register, [
    'viz',
    'attention',
    '--model',
    modelDir,
    '--device',
    'cpu',
    '--image',
    image,
    ...args,
    '--json',
  ]);
  return JSON.parse(printed.at(-1)!) as VizJson;
}

beforeAll(async () => {
  modelDir = (await tinyModel()).dir;
  image = path.join(dirs.root(), 'shapes.png');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="320" height="240" fill="#dddddd"/><rect x="40" y="30" width="120" height="100" fill="#d03030"/><circle cx="240" cy="170" r="40" fill="#3050d0"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(image);
});

afterAll(() => removeTinyModels());

const meanPanel = (j: VizJson, layers: string, method: string, layer: number) =>
  j.attention
    .find((a) => a.layers === layers)!
    .panels.find((p) => p.method === method && p.layer === layer && p.head === 'mean')!;

describe('falip viz attention', () => {
  let out: string;
  let result: VizJson;

  beforeAll(async () => {
    out = path.join(dirs.root(), 'viz');
    result = await viz(
      '--box',
      BOX,
      '--method',
      'plain,falip,redcircle',
      '--alpha',
      '5',
      '--show-layers',
      '9-12',
      '1,2',
      '--show-heads',
      '2',
      '--text',
      'a photo of a red square',
      '--out',
      out,
    );
  });

  it('writes one attention figure and one text map per layer selection, as SVG and PNG', async () => {
    const stems = ['attention-layers-9-12', 'attention-layers-1-2', 'text-map-layers-9-12', 'text-map-layers-1-2'];
    for (const stem of stems) {
      const svg = readFileSync(path.join(out, `${stem}.svg`), 'utf8');
      const meta = await sharp(path.join(out, `${stem}.png`)).metadata();
      expect(meta.width).toBe(2 * Number(/width="(\d+)"/.exec(svg)![1]));
    }
    // Methods as columns; rows: each layer's head mean, then head 2.
    const panels = (stem: string) =>
      (readFileSync(path.join(out, `${stem}.svg`), 'utf8').match(/<image /g) ?? []).length;
    expect(panels('attention-layers-9-12')).toBe(4 * 2 * 3);
    expect(panels('attention-layers-1-2')).toBe(2 * 2 * 3);
    // The text map: the selection's sum, then each layer.
    expect(panels('text-map-layers-9-12')).toBe((1 + 4) * 3);
    expect(existsSync(path.join(out, 'viz.json'))).toBe(true);
    expect(result.files).toHaveLength(8);
  });

  it('shows the mask moving CLS attention into the box in its layers only', () => {
    for (const layer of [9, 10, 11, 12])
      expect(meanPanel(result, '9-12', 'falip', layer).in_box!).toBeGreaterThan(
        meanPanel(result, '9-12', 'plain', layer).in_box! + 0.2,
      );
    for (const layer of [1, 2])
      expect(meanPanel(result, '1-2', 'falip', layer).in_box).toBeCloseTo(
        meanPanel(result, '1-2', 'plain', layer).in_box!,
        6,
      );
  });

  it("the text map's heads and the remaining terms add up to the score", () => {
    const maps = result.text!.maps;
    expect(maps).toHaveLength(2 * 3);
    for (const m of maps) {
      expect(Math.abs(m.all_heads_share + m.other_terms - m.score)).toBeLessThan(1e-4 * Math.max(1, Math.abs(m.score)));
      expect(m.heads).toBe('2');
    }
  });

  it('keeps the method parameter --layers apart from --show-layers', async () => {
    const j = await viz(
      '--box',
      BOX,
      '--method',
      'plain,falip',
      '--alpha',
      '5',
      '--layers',
      '12',
      '--show-layers',
      '11-12',
      '--out',
      path.join(dirs.root(), 'viz-l12'),
    );
    expect(meanPanel(j, '11-12', 'falip', 11).in_box).toBeCloseTo(meanPanel(j, '11-12', 'plain', 11).in_box!, 6);
    expect(meanPanel(j, '11-12', 'falip', 12).in_box!).toBeGreaterThan(
      meanPanel(j, '11-12', 'plain', 12).in_box! + 0.1,
    );
    expect(j.text).toBeNull();
  });

  it.each([
    [['--method', 'falip'], /--method falip needs --box/],
    [['--box', BOX, '--show-layers', '13'], /layers are 1-12/],
    [['--box', BOX, '--method', 'redcircle+unleash'], /ablation \(unleash\) is not one forward pass/],
    [['--alpha', '2'], /--alpha: not read by method plain/],
  ])('refuses %j with a one-line error', async (args, message) => {
    await expect(viz(...args, '--out', path.join(dirs.root(), 'never'))).rejects.toThrow(UserError);
    await expect(viz(...args, '--out', path.join(dirs.root(), 'never'))).rejects.toThrow(message);
  });
});

describe('figure colours', () => {
  it('inferno runs from near black to pale yellow; signed tints are red or blue with opacity ∝ |t|', () => {
    expect(hex(inferno(0))).toBe('#000004');
    expect(hex(inferno(1))).toBe('#fcffa4');
    expect(inferno(2)).toEqual(inferno(1));
    expect(signedTint(0.5)).toEqual({ rgb: [178, 24, 43], opacity: 0.425 });
    expect(signedTint(-1).rgb).toEqual([33, 102, 172]);
    expect(signedTint(0).opacity).toBe(0);
  });

  it('draws a cell per non-zero patch value and the box outline', () => {
    const values = new Float64Array(4);
    values[3] = 1;
    const svg = patchFigureSvg({
      title: 't',
      columns: ['a'],
      rows: [
        {
          label: 'r',
          scale: { kind: 'signed', max: 1 },
          panels: [{ image: 'data:,', values, box: [0.5, 0.5, 0.5, 0.5], caption: ['c'] }],
        },
      ],
      grid: 2,
      aspect: 1,
      legend: [],
    });
    expect(svg.match(/fill-opacity="0.850"/g)).toHaveLength(1);
    expect(svg).toContain('stroke="#00e5ff"');
  });
});
