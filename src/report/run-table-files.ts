import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import type { ReportCell, ReportPlot, ReportTable } from './html-report-model.js';

interface MetricsJson {
  title: string;
  rows: { row: string; label: string; cells: Record<string, ReportCell> }[];
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code})`);
  }
}

/** The cells of a Markdown table line, `\|` unescaped. */
function markdownCells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replaceAll('\\|', '|'));
}

/**
 * Column labels and footnotes of table.md (metrics.json keys its columns only): the header of the first
 * table, without the "(n=…)" the header carries when every row has the same count, and the numbered notes.
 */
function fromMarkdown(markdown: string): { labels: string[]; footnotes: string[] } {
  const lines = markdown.split('\n');
  const header = lines.find((l) => l.startsWith('|'));
  const labels = header
    ? markdownCells(header)
        .slice(1)
        .map((l) => l.replace(/ \(n=\d+\)$/, ''))
    : [];
  const footnotes: string[] = [];
  for (const line of lines) {
    if (line.startsWith('####')) break;
    const m = /^\d+\. (.*)$/.exec(line);
    if (m) footnotes.push(m[1]!);
  }
  return { labels, footnotes };
}

/** The results table of a run folder from metrics.json (numbers) and table.md (labels, footnotes); null before any table was written. */
export async function readRunTable(dir: string): Promise<ReportTable | null> {
  const file = path.join(dir, 'metrics.json');
  const text = await readOptional(file);
  if (text === null) return null;
  let metrics: MetricsJson;
  try {
    metrics = JSON.parse(text) as MetricsJson;
    if (!Array.isArray(metrics.rows)) throw new Error('no rows');
  } catch (e) {
    throw new UserError(`${file}: not a metrics.json of falip (${(e as Error).message})`);
  }
  const keys = [...new Set(metrics.rows.flatMap((r) => Object.keys(r.cells)))];
  const md = await readOptional(path.join(dir, 'table.md'));
  const { labels, footnotes } = md === null ? { labels: [], footnotes: [] } : fromMarkdown(md);
  const empty: ReportCell = { ours: null, paper: null, delta: null, status: 'not run' };
  return {
    title: metrics.title,
    columns: keys.map((key, i) => ({ key, label: labels.length === keys.length ? labels[i]! : key })),
    rows: metrics.rows.map((r) => ({ key: r.row, label: r.label, cells: keys.map((k) => r.cells[k] ?? empty) })),
    footnotes,
  };
}

/** The sweep plots of a run folder (`accuracy-vs-<axis>.png`, else its .svg), by name. */
export async function readRunPlots(dir: string): Promise<ReportPlot[]> {
  const names = await readdir(dir);
  const stems = [
    ...new Set(names.filter((n) => /^accuracy-vs-.+\.(png|svg)$/.test(n)).map((n) => n.replace(/\.(png|svg)$/, ''))),
  ].sort();
  return Promise.all(
    stems.map(async (stem) => {
      const png = names.includes(`${stem}.png`);
      const bytes = await readFile(path.join(dir, `${stem}.${png ? 'png' : 'svg'}`));
      return {
        title: stem.replaceAll('-', ' '),
        dataUri: `data:image/${png ? 'png' : 'svg+xml'};base64,${bytes.toString('base64')}`,
      };
    }),
  );
}
