import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordLog, type EvalRecord } from '../../src/report/records.js';
import { UserError } from '../../src/util/errors.js';

function record(id: string, correct = true, row = 'falip', split = 'testA'): EvalRecord {
  return { row, split, id, pred: Number(id.replace(/\D/g, '') || 0), correct, scores: [0.5, 0.25] };
}

async function tempLogPath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'falip-records-')), 'records.jsonl');
}

describe('RecordLog', () => {
  it('appends, reopens and finds records by row, split and id', async () => {
    const path = await tempLogPath();
    const log = await RecordLog.open(path);
    await log.append(record('s2'));
    await log.append(record('s1', false));
    await log.append(record('s1', true, 'baseline'));
    expect((await readFile(path, 'utf8')).split('\n')).toHaveLength(4); // three lines plus the final newline

    const reopened = await RecordLog.open(path);
    expect(reopened.has('falip', 'testA', 's1')).toBe(true);
    expect(reopened.has('falip', 'testB', 's1')).toBe(false);
    expect(reopened.get('falip', 'testA', 's1')).toEqual(record('s1', false));
    expect(reopened.all().map((r) => r.id)).toEqual(['s2', 's1', 's1']);
    expect(reopened.forCell('falip', 'testA').map((r) => r.id)).toEqual(['s1', 's2']);
    expect(reopened.forCell('baseline', 'testA')).toEqual([record('s1', true, 'baseline')]);
  });

  it('drops a truncated last line, rewrites the file without it and stays appendable', async () => {
    const path = await tempLogPath();
    const complete = [record('a'), record('b')].map((r) => `${JSON.stringify(r)}\n`).join('');
    const interrupted = JSON.stringify(record('c')).slice(0, 25); // a write cut short by a crash
    await writeFile(path, complete + interrupted);

    const log = await RecordLog.open(path);
    expect(log.all().map((r) => r.id)).toEqual(['a', 'b']);
    expect(await readFile(path, 'utf8')).toBe(complete);

    await log.append(record('c'));
    const reopened = await RecordLog.open(path);
    expect(reopened.all().map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('keeps a complete last line that only lacks its newline', async () => {
    const path = await tempLogPath();
    await writeFile(path, `${JSON.stringify(record('a'))}\n${JSON.stringify(record('b'))}`);
    const log = await RecordLog.open(path);
    await log.append(record('c'));
    expect((await RecordLog.open(path)).all().map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('reports a corrupt line in the middle as a UserError naming file:line', async () => {
    const path = await tempLogPath();
    const lines = [JSON.stringify(record('a')), '{"row": "falip", "split"', JSON.stringify(record('c'))];
    await writeFile(path, `${lines.join('\n')}\n`);
    const opening = RecordLog.open(path);
    await expect(opening).rejects.toBeInstanceOf(UserError);
    await expect(RecordLog.open(path)).rejects.toThrow(`${path}:2:`);
  });

  it('rejects a middle line with the wrong shape, naming the field', async () => {
    const path = await tempLogPath();
    const bad = JSON.stringify({ ...record('b'), correct: 'yes' });
    await writeFile(path, `${[JSON.stringify(record('a')), bad, JSON.stringify(record('c'))].join('\n')}\n`);
    await expect(RecordLog.open(path)).rejects.toThrow(/records\.jsonl:2: .*correct/);
  });

  it('throws on a duplicate append, a bug in the caller, and leaves the file unchanged', async () => {
    const path = await tempLogPath();
    const log = await RecordLog.open(path);
    await log.append(record('a'));
    const before = await readFile(path, 'utf8');
    const duplicate = log.append(record('a', false));
    await expect(duplicate).rejects.toThrow(/already present/);
    await expect(log.append(record('a', false))).rejects.not.toBeInstanceOf(UserError);
    expect(await readFile(path, 'utf8')).toBe(before);
  });
});
