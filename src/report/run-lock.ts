import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { UserError } from '../util/errors.js';

/** Who holds a results folder. */
interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

const LOCK_FILE = '.lock';
/** A lock file that does not parse may be one another process is writing this instant. */
const UNREADABLE_GRACE_MS = 10_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
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

/**
 * An exclusive lock on a results folder, so that two runs never append to one records.jsonl: a lock
 * file created with O_EXCL holding pid, host and command. A lock left by a process that died on this
 * host is taken over (and said so on stderr); a live holder is a one-line refusal naming it. Released
 * by `release()` and, failing that, when the process exits.
 */
export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly file: string) {
    process.once('exit', this.onExit);
  }

  static acquire(dir: string): RunLock {
    const file = path.join(dir, LOCK_FILE);
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
        return new RunLock(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new UserError(`${dir}: cannot write a lock file there (${(e as NodeJS.ErrnoException).code})`);
      }
      const holder = readHolder(file);
      if (!isStale(file, holder)) {
        const who = holder
          ? `pid ${holder.pid} on ${holder.host} since ${holder.started} (falip ${holder.command})`
          : 'a process that is starting';
        throw new UserError(`${dir}: in use by ${who}; wait for it to finish, or use another --out`);
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
        `falip: ${dir}: took over the lock of ${holder ? `pid ${holder.pid}, which is no longer running` : 'an unreadable lock file'}\n`,
      );
    }
    throw new UserError(`${dir}: another process took the lock at the same moment; try again`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.onExit);
    // Only our own lock is removed: a takeover by another process must not be undone.
    if (readHolder(this.file)?.pid === process.pid) rmSync(this.file, { force: true });
  }
}
