import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { expect, vi } from 'vitest';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(REPO, 'bin', 'falip.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process, in `cwd` (default: the repository), with the current environment plus `env`. */
export function runFalip(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  cwd = REPO,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Exit 2, exactly one `falip: ...` line on stderr holding every needle, no stack trace. */
export function expectUserError(r: CliResult, ...needles: string[]): void {
  const lines = r.stderr.trimEnd().split('\n');
  expect(r.status, r.stderr).toBe(2);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^falip: /);
  for (const needle of needles) expect(lines[0]).toContain(needle);
  expect(r.stderr).not.toMatch(/^\s*at /m);
}

/** Exit 0 (the output is shown when it is not). */
export function expectOk(r: CliResult): CliResult {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

/**
 * One command module in this process, as main() runs it: registered on a fresh `falip` program that
 * throws instead of exiting, so errors (UserError, CheckFailed, commander's) propagate to the caller.
 * Returns what it printed with console.log, one string a call; console.log is silenced meanwhile.
 */
export async function runInProcess(register: (program: Command) => void, args: readonly string[]): Promise<string[]> {
  const program = new Command('falip').exitOverride();
  register(program);
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await program.parseAsync(['node', 'falip', ...args]);
    return log.mock.calls.map((c) => String(c[0]));
  } finally {
    log.mockRestore();
  }
}

/**
 * `main()` in this process, as the CLI runs it minus the process: its exit code, what it printed (console
 * and stdout) and what it wrote to stderr. Much faster than `runFalip` (no tsx start per call).
 */
export async function falipInProcess(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../../src/cli/main.js');
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out.push(String(s));
    return true;
  });
  const ewrite = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err.push(String(s));
    return true;
  });
  try {
    const code = await main(['node', 'falip', ...args]);
    return { code, out: out.join('\n'), err: err.join('') };
  } finally {
    log.mockRestore();
    write.mockRestore();
    ewrite.mockRestore();
  }
}

/** Exit 2 and exactly one `falip: ...` line on stderr holding every needle (in-process form of expectUserError). */
export function expectRefusal(r: { code: number; err: string }, ...needles: string[]): string {
  const lines = r.err.trimEnd().split('\n');
  expect(r.code, r.err).toBe(2);
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^falip: /);
  for (const needle of needles) expect(lines[0]).toContain(needle);
  return lines[0]!;
}
