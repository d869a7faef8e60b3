import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { UserError } from './errors.js';

/** Who holds a lock. */
interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** A lock file that does not parse may be one another process is writing this instant. */
const UNREADABLE_GRACE_MS = 10_000;
/** How often `acquireWaiting` looks again. */
const POLL_MS = 50;

/** Whether process `pid` runs on this host (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? (h as LockHolder) : null;
  } catch {
    return null;
  }
}

/** Whether the holder is gone: its process is dead on this host, or the file never became readable. */
function isStale(file: string, holder: LockHolder | null): boolean {
  if (holder === null) {
    const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    return age > UNREADABLE_GRACE_MS;
  }
  // A process on another machine (a shared file system) cannot be checked: it is assumed alive.
  return holder.host === hostname() && !isAlive(holder.pid);
}

/** What a refusal says: the locked thing and what the user can do, around the holder's description. */
export interface LockWords {
  /** What is locked, e.g. the results folder or `dataset demo/val`. */
  what: string;
  /** What to do instead, e.g. `wait for it to finish, or use another --out`. */
  advice: string;
}

/** Who holds `file`, in words, or null when nobody does (or only a dead process did). */
function liveHolder(file: string): string | null {
  const holder = readHolder(file);
  if (statSync(file, { throwIfNoEntry: false }) === undefined || isStale(file, holder)) return null;
  return holder
    ? `pid ${holder.pid} on ${holder.host} since ${holder.started} (falip ${holder.command})`
    : 'a process that is starting';
}

/**
 * Refuses as `FileLock.acquire` would while a live process holds `file`, without taking it: for checks
 * that run before a folder is written to (a folder another falip is just setting up is that run's, not
 * the user's, and the refusal should say so).
 */
export function refuseIfHeld(file: string, words: LockWords): void {
  const holder = liveHolder(file);
  if (holder) throw inUse(words, holder);
}

/** The refusal a live holder gets, whether met by `acquire` or before it. */
function inUse(words: LockWords, holder: string): UserError {
  return new UserError(`${words.what}: in use by ${holder}; ${words.advice}`);
}

/**
 * An exclusive lock: a file created with O_EXCL holding pid, host and command. A lock left by a process
 * that died on this host is taken over (and said so on stderr); a live holder is a one-line refusal
 * naming it. Released by `release()` and, failing that, when the process exits. Results folders
 * (`<dir>/.lock`), dataset imports and model imports each take one, so that two writers never
 * interleave.
 */
export class FileLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly file: string) {
    process.once('exit', this.onExit);
  }

  static acquire(file: string, words: LockWords): FileLock {
    const me: LockHolder = {
      pid: process.pid,
      host: hostname(),
      started: new Date().toISOString(),
      command: process.argv.slice(2).join(' '),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        try {
          writeSync(fd, JSON.stringify(me));
        } finally {
          closeSync(fd);
        }
        return new FileLock(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') throw new UserError(`${words.what}: cannot write its lock file ${file} (${code})`);
      }
      const holder = readHolder(file);
      if (!isStale(file, holder)) {
        throw inUse(words, liveHolder(file) ?? 'another process');
      }
      // Renaming is atomic: of two processes taking over the same stale lock only one succeeds, and the
      // other, finding the file gone, goes round again and meets the winner's lock.
      const aside = `${file}.stale-${process.pid}`;
      try {
        renameSync(file, aside);
      } catch {
        continue;
      }
      rmSync(aside, { force: true });
      process.stderr.write(
        `falip: ${words.what}: took over the lock of ${holder ? `pid ${holder.pid}, which is no longer running` : 'an unreadable lock file'}\n`,
      );
    }
    throw new UserError(`${words.what}: another process took the lock at the same moment; try again`);
  }

  /**
   * `acquire`, but a live holder is waited for (up to `timeoutMs`) instead of refused: for work that
   * every process may do and the second finds done (generating the tiny model).
   */
  static async acquireWaiting(file: string, words: LockWords, timeoutMs: number): Promise<FileLock> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return FileLock.acquire(file, words);
      } catch (e) {
        if (!(e instanceof UserError) || Date.now() > deadline || liveHolder(file) === null) throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.onExit);
    // Only our own lock is removed: a takeover by another process must not be undone.
    if (readHolder(this.file)?.pid === process.pid) rmSync(this.file, { force: true });
  }
}
