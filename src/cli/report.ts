import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadRunReport } from '../analysis/run-report.js';
import { parsePositiveInt } from './parse.js';
import { renderHtmlReport } from '../report/html-report.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { withFsErrors } from '../util/fs-errors.js';
import { checkWritableFile } from '../util/output-target.js';

interface ReportFlags {
  out?: string;
  examples: string;
  screenshot?: string;
}

export function register(program: Command): void {
  program
    .command('report <run_dir>')
    .description(
      'one self-contained HTML page of a results folder: the table beside the paper, the sweep plots, and example items with their boxes',
    )
    .option('--out <file>', 'the HTML file (default: <run_dir>/report.html)')
    .option(
      '--examples <n>',
      'example items per table row: a seeded sample of its records, shown as 256 px thumbnails, paged (0 = none)',
      '60',
    )
    .option(
      '--screenshot <file.png>',
      'also render the page in headless Chromium (/usr/bin/chromium) and save a full-page screenshot',
    )
    .addHelpText(
      'after',
      `
The page needs no network: thumbnails and plots are inlined as data: URIs, style and script are inline,
and its Content-Security-Policy forbids any request. Open it straight from the file system.
REC cards: green = the referred (target) box, red dashed = the predicted box, thin grey = the other
candidates, caption = the sentence. Classification cards: yellow = the image's box, the top 5 classes
(the true class in bold green).`,
    )
    .action(async (dir: string, o: ReportFlags) => {
      if (!(await stat(dir).catch(() => undefined))?.isDirectory())
        throw new UserError(`${dir}: not a folder (give a results folder, e.g. results/eval-demo-…)`);
      const perRow = o.examples === '0' ? 0 : parsePositiveInt('--examples', o.examples);
      const out = o.out ?? path.join(dir, 'report.html');
      // Where the page goes is checked before the run is read: a bad place fails at once, in words.
      await checkWritableFile(out, '--out');
      if (o.screenshot) await checkWritableFile(o.screenshot, '--screenshot');
      const model = await loadRunReport(dir, perRow);
      await withFsErrors(() => writeFileAtomic(out, renderHtmlReport(model)));
      console.log(`report: ${out}`);
      if (o.screenshot) {
        // Loaded only here: every falip command registers this one, and few need a browser.
        const { screenshotHtml } = await import('../report/headless-chromium.js');
        const problems = await screenshotHtml(out, o.screenshot);
        const all = [...problems.consoleErrors, ...problems.pageErrors, ...problems.failedRequests];
        for (const p of all) process.stderr.write(`falip: report page: ${p}\n`);
        console.log(
          `screenshot: ${o.screenshot}${all.length > 0 ? ` (${all.length} page problem(s), see stderr)` : ''}`,
        );
      }
    });
}
