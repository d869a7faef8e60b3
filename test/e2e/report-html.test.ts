/**
 * `falip report`: the page of a real `falip eval demo` run, loaded in headless Chromium (Debian's
 * /usr/bin/chromium through puppeteer-core; nothing is downloaded). The results table and the paged
 * example cards must render with no console error and no request at all; a screenshot is written to
 * the test's temp dir, and also to $FALIP_REPORT_SCREENSHOT when set (for a person to look at).
 * Plus the table reader and cell formats on a run with paper numbers, and a classification run's cards.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/util/errors.js';
import { register as registerEval } from '../../src/cli/eval.js';
import { register as registerReport } from '../../src/cli/report.js';
import { CHROMIUM_INSTALL, CHROMIUM_PATH, withHtmlPage } from '../../src/report/headless-chromium.js';
import type { ReportExamples } from '../../src/report/html-report-model.js';
import { PAGE_SIZE } from '../../src/report/html-report-assets.js';
import { renderHtmlReport } from '../../src/report/html-report.js';
import { readRunTable } from '../../src/report/run-table-files.js';
import { runInProcess } from '../helpers/cli.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';
import { removeTinyModels, tinyModel } from '../helpers/tiny-model.js';

const dirs = useTempFalipDirs('falip-report-');
const EXAMPLES = 30;
let modelDir: string;

const falip = (register: (p: Command) => void, ...args: string[]): Promise<string[]> => runInProcess(register, args);

/** The example data the page embeds, read back from the file. */
function embeddedExamples(html: string): ReportExamples {
  const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!;
  return (JSON.parse(json) as { examples: ReportExamples }).examples;
}

beforeAll(async () => {
  modelDir = (await tinyModel()).dir;
});

afterAll(() => removeTinyModels());

describe('falip report of a REC run', () => {
  let run: string;
  let html: string;
  let report: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH))
      throw new Error(`headless Chromium is needed at ${CHROMIUM_PATH}; install it with \`${CHROMIUM_INSTALL}\``);
    run = path.join(dirs.root(), 'eval-demo');
    // The two methods the page's checks below name (the demo's defaults are five).
    const methods = ['--method', 'falip,redcircle'];
    await falip(registerEval, 'eval', 'demo', ...methods, '--model', modelDir, '--device', 'cpu', '--out', run);
    report = path.join(dirs.root(), 'report.html');
    const printed = await falip(registerReport, 'report', run, '--out', report, '--examples', String(EXAMPLES));
    expect(printed).toEqual([`report: ${report}`]);
    html = readFileSync(report, 'utf8');
  });

  it('is one self-contained file: inline style and script, every image a data: URI, no URL to fetch', () => {
    expect(html).not.toMatch(/\b(src|href)="(?!data:)/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain("default-src 'none'");
    const ex = embeddedExamples(html);
    expect(ex.rows.map((r) => r.key)).toEqual(['falip-gold', 'redcircle-gold']);
    expect(ex.cards.filter((c) => c.row === 'falip-gold')).toHaveLength(EXAMPLES);
    expect(Object.values(ex.images).every((u) => u.startsWith('data:image/jpeg;base64,'))).toBe(true);
    // One thumbnail per image, however many sentences and rows show it.
    expect(Object.keys(ex.images).length).toBe(new Set(ex.cards.map((c) => c.image)).size);
  });

  it('renders the table and the example cards in headless Chromium, pages and filters them, with no console error or request', async () => {
    const ex = embeddedExamples(html);
    const wrong = ex.cards.filter((c) => c.row === 'falip-gold' && !c.correct).length;
    const shot = path.join(dirs.root(), 'report.png');
    const { result, problems } = await withHtmlPage(report, async (page) => {
      await page.waitForSelector('body[data-ready="true"]');
      const count = () => page.$$eval('#cards .card', (cards) => cards.length);
      const tableRows = await page.$$eval('#results-table tbody tr', (rows) =>
        rows.map((r) => r.querySelector('td')!.textContent),
      );
      const header = await page.$$eval('#results-table thead th', (th) => th.map((t) => t.textContent));
      const firstPage = await count();
      const boxes = await page.$$eval('#cards .card:first-child .box', (b) => b.map((x) => x.className));
      const thumbsDecoded = await page.$$eval('#cards img', (imgs) =>
        imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0),
      );
      await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
      const lead = process.env.FALIP_REPORT_SCREENSHOT;
      if (lead) copyFileSync(shot, lead);
      await page.click('#next');
      const secondPage = await count();
      const pageInfo = await page.$eval('#page-info', (e) => e.textContent);
      await page.select('#outcome-filter', 'wrong');
      const wrongShown = await count();
      const allWrong = await page.$$eval('#cards .card', (cards) => cards.every((c) => c.classList.contains('wrong')));
      await page.select('#outcome-filter', 'all');
      await page.select('#row-select', 'redcircle-gold');
      const otherRow = await page.$eval('#cards .card .meta', (e) => e.textContent);
      return {
        tableRows,
        header,
        firstPage,
        boxes,
        thumbsDecoded,
        secondPage,
        pageInfo,
        wrongShown,
        allWrong,
        otherRow,
      };
    });
    expect(problems).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [] });
    expect(result.header).toEqual(['Method', 'demo val']);
    expect(result.tableRows).toEqual(['falip gold', 'redcircle gold']);
    expect(result.firstPage).toBe(PAGE_SIZE);
    expect(result.thumbsDecoded).toBe(true);
    expect(result.boxes).toEqual(expect.arrayContaining(['box target', 'box pred']));
    expect(result.secondPage).toBe(EXAMPLES - PAGE_SIZE);
    expect(result.pageInfo).toBe('page 2 of 2');
    expect(result.wrongShown).toBe(Math.min(wrong, PAGE_SIZE));
    expect(result.allWrong).toBe(true);
    expect(result.otherRow).toMatch(/demo\/val · demo-/);
    const png = await sharp(shot).metadata();
    expect(png.width).toBe(1280);
    expect(png.height).toBeGreaterThan(1500);
  });
});

describe('falip report of a classification run', () => {
  it("draws each image's box and its top 5 classes, the true one marked", async () => {
    const run = path.join(dirs.root(), 'eval-cls');
    await falip(
      registerEval,
      'eval',
      'demo-cls',
      '--limit',
      '6',
      '--method',
      'falip',
      '--model',
      modelDir,
      '--device',
      'cpu',
      '--out',
      run,
    );
    await falip(registerReport, 'report', run, '--examples', '4');
    const ex = embeddedExamples(readFileSync(path.join(run, 'report.html'), 'utf8'));
    const records = readFileSync(path.join(run, 'records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; label: number; top5: number[] });
    const classes = JSON.parse(
      readFileSync(path.join(dirs.root(), 'datasets', 'demo-cls', 'val', 'classes.json'), 'utf8'),
    ) as { names: string[] };
    expect(ex.cards).toHaveLength(4);
    for (const card of ex.cards) {
      const record = records.find((r) => r.id === card.id)!;
      expect(card.caption).toBe(`true class: ${classes.names[record.label]}`);
      expect(card.boxes.map((b) => b.kind)).toEqual(['region']);
      expect(card.lines.map((l) => l.text)).toEqual(record.top5.map((c, k) => `${k + 1}. ${classes.names[c]}`));
      expect(card.lines.filter((l) => l.mark).length).toBe(record.top5.includes(record.label) ? 1 : 0);
    }
  });
});

describe('the results table', () => {
  it("reads labels and footnotes from metrics.json and shows ours, the paper's number and Δ", async () => {
    const dir = path.join(dirs.root(), 'synthetic');
    mkdirSync(dir, { recursive: true });
    const cell = (value: number | null, paper: number | null, status: string | null) => ({
      ours: value === null ? null : { value, n: 50, ci: [value - 5, value + 5] },
      paper,
      delta: value !== null && paper !== null ? value - paper : null,
      status,
      paired_vs_baseline: null,
    });
    writeFileSync(
      path.join(dir, 'metrics.json'),
      JSON.stringify({
        title: 'Table 1',
        columns: [
          { key: 'refcoco/testA', label: 'RefCOCO testA' },
          { key: 'refcoco/val', label: 'RefCOCO val' },
        ],
        rows: [
          {
            row: 'falip',
            label: 'FALIP',
            cells: { 'refcoco/testA': cell(23.7, 44.2, null), 'refcoco/val': cell(null, 40.8, 'not imported') },
          },
        ],
        footnotes: ['First note.', 'Second | note.'],
        items: 50,
      }),
    );
    const table = (await readRunTable(dir))!;
    expect(table.columns).toEqual([
      { key: 'refcoco/testA', label: 'RefCOCO testA' },
      { key: 'refcoco/val', label: 'RefCOCO val' },
    ]);
    expect(table.footnotes).toEqual(['First note.', 'Second | note.']);
    const page = renderHtmlReport({ title: 't', about: [], table, plots: [], examples: { missing: 'none here' } });
    expect(page).toContain(
      '<span class="ours">23.7</span> ±5.0<span class="sub">n=50</span><span class="sub">paper 44.2 · <span class="delta-neg">Δ −20.5</span></span>',
    );
    expect(page).toContain('<span class="status">not imported</span><span class="sub">paper 40.8</span>');
    expect(page).toContain('<p class="missing">none here</p>');
    expect(page).not.toContain('<script>');
  });

  it('a metrics.json that does not fit its schema is one line naming the file and field', async () => {
    const dir = path.join(dirs.root(), 'old-metrics');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify({ title: 'Table 1', rows: [], items: 0 }));
    await expect(readRunTable(dir)).rejects.toThrow(
      new UserError(`${dir}/metrics.json: not a metrics.json of this falip version: columns: missing`),
    );
  });
});
