import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { canonicalJson } from '../util/canonical-json.js';
import { REPO_ROOT } from '../util/repo-paths.js';
import type { Provenance } from './run-files.js';

const require = createRequire(import.meta.url);

function packageVersion(packageJsonPath: string): string | null {
  try {
    const version: unknown = JSON.parse(readFileSync(packageJsonPath, 'utf8')).version;
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}

function installedVersion(packageName: string): string | null {
  try {
    return packageVersion(require.resolve(`${packageName}/package.json`));
  } catch {
    return null;
  }
}

/** Runs git in the repository quietly; null when git is missing or it is not a checkout. */
function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** `extra` (device, model id, …) is merged in last so callers can add what only they know. */
export function collectProvenance(extra: Record<string, unknown> = {}): Provenance {
  const gitCommit = git(['rev-parse', 'HEAD']);
  const status = gitCommit === null ? null : git(['status', '--porcelain']);
  return {
    falip_version: packageVersion(join(REPO_ROOT, 'package.json')) ?? 'unknown',
    node: process.version,
    onnxruntime: installedVersion('onnxruntime-node'),
    git_commit: gitCommit,
    dirty: status !== null && status.length > 0,
    platform: `${platform()}-${arch()}`,
    cpus: cpus().length,
    created_at: new Date().toISOString(),
    // What was typed, for `falip results` (the arguments after node and the launcher).
    command: ['falip', ...process.argv.slice(2)].join(' '),
    ...extra,
  };
}

/** Identifies a resolved configuration: first 12 hex chars of sha256 over its canonical JSON. */
export function configHash(resolvedConfig: unknown): string {
  return createHash('sha256').update(canonicalJson(resolvedConfig)).digest('hex').slice(0, 12);
}
