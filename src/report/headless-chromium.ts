import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Page } from 'puppeteer-core';
import { UserError } from '../util/errors.js';

/** Debian's chromium package; falip never downloads a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get install -y chromium';

/**
 * Headless and quiet: no sandbox (containers run as root), no GPU, and none of the background traffic
 * (updates, sync, QUIC probes) that would show up as requests a report page never made.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What went wrong while a page loaded and ran. */
export interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
}

/** Chromium's path, or a one-line UserError saying how to install it. */
function requireChromium(): string {
  if (!existsSync(CHROMIUM_PATH))
    throw new UserError(`${CHROMIUM_PATH} not found: install Chromium with \`${CHROMIUM_INSTALL}\``);
  return CHROMIUM_PATH;
}

/**
 * Opens a local HTML file in headless Chromium (a fresh profile each time), runs `use` on the loaded
 * page and reports every console error, uncaught exception and failed request seen meanwhile.
 */
export async function withHtmlPage<T>(
  file: string,
  use: (page: Page) => Promise<T>,
  viewport = { width: 1280, height: 900 },
): Promise<{ result: T; problems: PageProblems }> {
  const executablePath = requireChromium();
  const profile = await mkdtemp(path.join(tmpdir(), 'falip-chromium-'));
  const browser = await puppeteer.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, userDataDir: profile });
  try {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    const problems: PageProblems = { consoleErrors: [], pageErrors: [], failedRequests: [] };
    page.on('console', (m) => m.type() === 'error' && problems.consoleErrors.push(m.text()));
    page.on('pageerror', (e) => problems.pageErrors.push(String(e)));
    page.on('requestfailed', (r) =>
      problems.failedRequests.push(`${r.url().slice(0, 120)} (${r.failure()?.errorText ?? 'failed'})`),
    );
    await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: 'load' });
    return { result: await use(page), problems };
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** A full-page PNG screenshot of a local HTML file. */
export async function screenshotHtml(file: string, png: string): Promise<PageProblems> {
  const { problems } = await withHtmlPage(file, (page) =>
    page.screenshot({ path: png as `${string}.png`, fullPage: true }),
  );
  return problems;
}
