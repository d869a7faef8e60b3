/**
 * Issue 17, the files of a results folder under a failing disk: an append that fails is cut back to
 * the last whole line (and the rerun resumes), a log stops for good after a failure or when closed, a
 * full disk while writing run.json is one line, and temporary files of dead processes are told from
 * those of live ones. The failing disk is a write error injected into Node's file handles.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, readFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openRunFolder } from '../../src/experiments/run-folder.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { withFsErrors } from '../../src/util/fs-errors.js';
import { type EvalRecord, RecordLog } from '../../src/report/records.js';
import { UserError } from '../../src/util/errors.js';
import { userErrorMessage } from '../helpers/errors.js';
import { runDetailsFixture, runKeyFixture } from '../helpers/run-key.js';

const record = (id: string): EvalRecord => ({ row: 'falip', split: 'demo/val', id, pred: 1, correct: true });

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'falip-lifecycle-logs-'));
}

/** The prototype every FileHandle shares, whose methods the disk faults below replace once. */
async function fileHandlePrototype(dir: string): Promise<Record<string, (...args: unknown[]) => Promise<unknown>>> {
  const handle = await open(join(dir, 'probe'), 'w');
  await handle.close();
  return Object.getPrototypeOf(handle);
}

function diskFull(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', path });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('10. an append that fails is cut back to the last whole line', () => {
  it('half a line written, then no space: the file ends with a whole line, and the rerun appends after it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'records.jsonl');
    const proto = await fileHandlePrototype(dir);
    const log = await RecordLog.open(path);
    await log.append(record('a'));
    const realWrite = proto.write!;
    // The disk fills half way through the next line: some bytes land, then the write fails.
    vi.spyOn(proto, 'write').mockImplementationOnce(async function (this: unknown, ...args: unknown[]) {
      const [buffer, offset, length, position] = args as [Uint8Array, number, number, number];
      await realWrite.call(this, buffer, offset, Math.floor(length / 2), position);
      throw diskFull(path);
    });
    const message = await userErrorMessage(log.append(record('b')), `${path}: cannot append a record (ENOSPC)`);
    expect(message).toContain('re-run the same command to resume');
    expect(await readFile(path, 'utf8')).toBe(`${JSON.stringify(record('a'))}\n`);
    // The space is back: a later append of this log is refused (nothing after an error) …
    await expect(log.append(record('c'))).rejects.toBeInstanceOf(UserError);
    expect(await readFile(path, 'utf8')).toBe(`${JSON.stringify(record('a'))}\n`);
    // … and the rerun opens a sound file and goes on.
    const rerun = await RecordLog.open(path);
    await rerun.append(record('b'));
    expect((await RecordLog.open(path)).all().map((r) => r.id)).toEqual(['a', 'b']);
  });
});

describe('11. nothing is appended after a log is closed', () => {
  it('appends in flight finish, later ones are refused and write nothing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'records.jsonl');
    const log = await RecordLog.open(path);
    const inFlight = log.append(record('a'));
    await log.close();
    await inFlight;
    await expect(log.append(record('b'))).rejects.toThrow('closed');
    expect((await RecordLog.open(path)).all().map((r) => r.id)).toEqual(['a']);
  });
});

describe('a full disk while writing run.json', () => {
  it('is one line naming run.json, not a stack trace', async () => {
    const dir = await tempDir();
    const proto = await fileHandlePrototype(dir);
    const out = join(dir, 'out');
    vi.spyOn(proto, 'writeFile').mockImplementationOnce(async () => {
      throw diskFull(join(out, 'run.json.tmp-1-0badf00d'));
    });
    await userErrorMessage(
      openRunFolder({ name: 't', runKey: runKeyFixture(), details: runDetailsFixture('t'), out }),
      `${out}/run.json: no space left on device`,
    );
  });
});

describe('a results folder another run has just taken', () => {
  it('is refused as in use (naming the holder), not as a folder of the user', async () => {
    // The first run holds the lock and has opened its logs, but not yet written run.json (the moment
    // two `eval --out X` at once met in the trust test).
    const out = join(await tempDir(), 'two');
    mkdirSync(out);
    const holder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: 'eval demo' };
    writeFileSync(join(out, '.lock'), JSON.stringify(holder));
    writeFileSync(join(out, 'records.jsonl'), '');
    const message = await userErrorMessage(
      openRunFolder({ name: 't', runKey: runKeyFixture(), details: runDetailsFixture('t'), out }),
      `${out}: in use by pid ${process.pid}`,
    );
    expect(message).not.toContain('not a falip results folder');
    expect(readdirSync(out).sort()).toEqual(['.lock', 'records.jsonl']);
  });
});

describe('a full disk under an atomic write, as the file system reports it', () => {
  it("is one line naming the file, though a file handle's error carries no path (report --out, data views --out)", async () => {
    const dir = await tempDir();
    const proto = await fileHandlePrototype(dir);
    const file = join(dir, 'report.html');
    // What Node's FileHandle.writeFile throws on a full disk: a code, no path.
    vi.spyOn(proto, 'writeFile').mockImplementationOnce(async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    await userErrorMessage(
      withFsErrors(() => writeFileAtomic(file, '<html>')),
      `${file}: no space left on device`,
    );
  });
});
