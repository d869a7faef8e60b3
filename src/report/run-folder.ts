import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import { collectProvenance, configHash, type Provenance } from './provenance.js';
import { RecordLog } from './records.js';

export interface OpenRunFolderOptions {
  /** Parent of default run folders (default `<repo>/results`). */
  root?: string;
  /** Run name, e.g. the table id; the folder is `<root>/<name>-<config hash>`. */
  name: string;
  /** The fully resolved configuration: it alone decides whether an existing folder is resumed. */
  resolvedConfig: unknown;
  /** Explicit folder (`--out`), used instead of the default name. */
  out?: string;
  /** What only the caller knows (model id and sha256, device…), stored with the provenance. */
  provenance?: Record<string, unknown>;
}

export interface RunFolder {
  dir: string;
  configHash: string;
  /** The folder already held this configuration; recorded ids are to be skipped. */
  resumed: boolean;
  records: RecordLog;
  /** Writes `<dir>/<name>` atomically as indented JSON. */
  writeJson(name: string, value: unknown): Promise<void>;
  /** Writes `<dir>/<name>` atomically. */
  writeText(name: string, text: string): Promise<void>;
}

/** The part of run.json that decides resuming; the rest is for readers. */
interface RunJson {
  name: string;
  config_hash: string;
  config: unknown;
  seeds: Record<string, number>;
  provenance: Provenance;
  /** Provenance of each later session that resumed the run, which may run other code. */
  resumed_with?: Provenance[];
}

/** Every numeric setting whose key mentions "seed", by dotted path, so a reader finds them at a glance. */
export function seedsOf(config: unknown, path = ''): Record<string, number> {
  if (config === null || typeof config !== 'object') return {};
  const seeds: Record<string, number> = {};
  for (const [key, value] of Object.entries(config)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (typeof value === 'number' && /seed/i.test(key)) seeds[keyPath] = value;
    else Object.assign(seeds, seedsOf(value, keyPath));
  }
  return seeds;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function readRunJson(path: string): Promise<RunJson | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<RunJson>;
    if (typeof parsed.config_hash === 'string') return parsed as RunJson;
  } catch {
    // Reported below together with a parsable file that lacks the hash.
  }
  throw new UserError(`${path}: not a falip run.json (no config_hash), use another --out`);
}

/**
 * Opens the results folder of a run: resumes it when it holds the same configuration, creates it
 * otherwise. A changed configuration hashes to a different default folder, so it starts a new run;
 * an explicit `--out` that holds another configuration is refused rather than mixed.
 */
export async function openRunFolder(opts: OpenRunFolderOptions): Promise<RunFolder> {
  const hash = configHash(opts.resolvedConfig);
  const dir = opts.out ?? join(opts.root ?? join(REPO_ROOT, 'results'), `${opts.name}-${hash}`);
  const runJsonPath = join(dir, 'run.json');
  const recordsPath = join(dir, 'records.jsonl');

  const previous = await readRunJson(runJsonPath);
  if (previous && previous.config_hash !== hash) {
    throw new UserError(`${runJsonPath}: holds a different configuration (hash ${previous.config_hash}), use another --out`);
  }
  if (!previous && (await exists(recordsPath))) {
    throw new UserError(`${recordsPath}: records without a run.json, so their configuration is unknown; use another --out`);
  }

  await mkdir(dir, { recursive: true });
  const provenance = collectProvenance(opts.provenance);
  const runJson: RunJson = previous
    ? { ...previous, resumed_with: [...(previous.resumed_with ?? []), provenance] }
    : { name: opts.name, config_hash: hash, config: opts.resolvedConfig, seeds: seedsOf(opts.resolvedConfig), provenance };
  const writeJson = (name: string, value: unknown): Promise<void> => writeFileAtomic(join(dir, name), JSON.stringify(value, null, 2) + '\n');
  await writeJson('run.json', runJson);

  return {
    dir,
    configHash: hash,
    resumed: previous !== null,
    records: await RecordLog.open(recordsPath),
    writeJson,
    writeText: (name, text) => writeFileAtomic(join(dir, name), text),
  };
}
