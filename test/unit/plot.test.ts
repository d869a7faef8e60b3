import { describe, expect, it } from 'vitest';
import { linePlot, type LinePlotSpec } from '../../src/report/plot.js';

const spec: LinePlotSpec = {
  title: 'Sweep of alpha',
  xLabel: 'alpha',
  yLabel: 'accuracy (%)',
  logX: true,
  series: [
    { name: 'RefCOCO testA', points: [1, 10, 100, 1000].map((x, i) => ({ x, y: 40 + i })) },
    { name: 'RefCOCO testB', points: [1, 10, 100].map((x, i) => ({ x, y: 30 - i })) },
    { name: 'RefCOCOg val', points: [1, 10].map((x, i) => ({ x, y: 50 + 2 * i })) },
  ],
};

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

describe('linePlot', () => {
  it('draws one line per series and one point per measurement', async () => {
    const { svg } = await linePlot(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(count(svg, /aria-roledescription="line mark"/g)).toBe(3);
    expect(count(svg, /aria-roledescription="point"/g)).toBe(4 + 3 + 2);
    expect(svg).toContain('Sweep of alpha');
    expect(svg).toContain('RefCOCO testB');
  });

  it('rasterizes to a PNG and is deterministic', async () => {
    const first = await linePlot(spec);
    const second = await linePlot(spec);
    expect([...first.png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const width = new DataView(first.png.buffer, first.png.byteOffset).getUint32(16); // IHDR width
    expect(width).toBe(1200);
    expect(second.svg).toBe(first.svg);
    expect(Buffer.from(second.png).equals(Buffer.from(first.png))).toBe(true);
  });
});
