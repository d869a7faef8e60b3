import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  METRICS_JSON,
  type MetricsJson,
  metricsJsonSchema,
  RECORDS_JSONL,
  RUN_JSON,
  readRunFile,
} from '../report/run-files.js';
import { UserError } from '../util/errors.js';
import { readRunJson, type RunJson } from './run-json.js';

/**
 * The results folders under some folders, and what each holds: `falip results` lists them, `falip collect`
 * turns them into one long table. A folder is a results folder when it has a run.json.
 */

/** One results folder, read. */
export interface RunSummary {
  dir: string;
  run: RunJson;
  /** null before any table was written (a run interrupted before its end). */
  metrics: MetricsJson | null;
  /** Records on disk now. */
  records: number;
  /** Every record of the run is there (run.json says complete, and the file holds exactly that many). */
  complete: boolean;
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** `dirs` themselves where they are results folders, else their sub-folders that are; sorted by path. */
export async function findRunFolders(dirs: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const d of dirs) {
    const dir = path.resolve(d);
    if (!(await isDir(dir))) throw new UserError(`${d}: not a folder`);
    if ((await stat(path.join(dir, RUN_JSON)).catch(() => undefined))?.isFile()) {
      found.add(dir);
      continue;
    }
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const sub = path.join(dir, entry.name);
      if (entry.isDirectory() && (await stat(path.join(sub, RUN_JSON)).catch(() => undefined))?.isFile())
        found.add(sub);
    }
  }
  return [...found].sort();
}

/** Whole lines of a records file (an unfinished last line is not a record); 0 when there is none. */
async function countRecordLines(file: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw new UserError(`${file}: cannot read (${e.code})`);
  });
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export async function summarizeRun(dir: string): Promise<RunSummary> {
  const run = await readRunJson(path.join(dir, RUN_JSON));
  if (!run) throw new UserError(`${dir}: not a falip results folder (no run.json)`);
  const [metrics, records] = await Promise.all([
    readRunFile(path.join(dir, METRICS_JSON), metricsJsonSchema),
    countRecordLines(path.join(dir, RECORDS_JSONL)),
  ]);
  const complete = run.complete !== undefined && run.complete.items === records;
  return { dir, run, metrics, records, complete };
}
