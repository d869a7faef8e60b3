import { constants } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { describeIssue, safeParseWith } from '../util/schema-check.js';

/**
 * One evaluated item (a REC sentence, a classification image, a point cloud) in one cell of a results
 * table. Tasks add their own fields beside these (classification: `label`, `top5`; Waterbirds: `group`),
 * so each line describes itself.
 */
export interface EvalRecord {
  /** Table row: the method or setting, e.g. "falip-gold". */
  row: string;
  /** The dataset split the item belongs to, e.g. "refcoco/testA" (a table column's `data`). */
  split: string;
  /** Item id, unique within a cell (for REC the sentence id). */
  id: string;
  /** Index of the predicted candidate (box or class). */
  pred: number;
  correct: boolean;
  /** Per-candidate scores, when the task keeps them; null for candidates that did not compete. */
  scores?: (number | null)[];
  [field: string]: unknown;
}

export const evalRecordSchema = z
  .object({
    row: z.string(),
    split: z.string(),
    id: z.string(),
    pred: z.number(),
    correct: z.boolean(),
    scores: z.array(z.number().nullable()).optional(),
  })
  .loose();

/** What every line of a keyed log names: the table row, the dataset split and the item. */
export interface LogEntry {
  row: string;
  split: string;
  id: string;
}

/** One parsed line, or why it is not an entry (and whether it was JSON at all). */
type ParsedLine<R> = { record: R } | { problem: string; json: boolean };

/** Parses one line; returns a reason instead of throwing so the caller can decide what a bad line means. */
function parseLine<R>(line: string, schema: z.ZodType<R>): ParsedLine<R> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { problem: 'not valid JSON', json: false };
  }
  const parsed = safeParseWith(schema, json);
  return parsed.success ? { record: parsed.data as R } : { problem: describeIssue(parsed.error), json: true };
}

/** A JSON array key cannot collide the way "a|b" + "c" and "a" + "b|c" would with a separator. */
function cellKey(row: string, split: string): string {
  return JSON.stringify([row, split]);
}

/** Orders records by id (code-unit order, independent of locale). */
export function compareIds(a: LogEntry, b: LogEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * An append-only JSON Lines log of keyed entries: `records.jsonl` (one record per evaluated item), so an
 * interrupted run resumes by skipping what is already recorded, and the β search's per-view scores.
 *
 * The file only ever holds whole lines: each append writes at the end of the last whole line, and an
 * append that fails (a full disk) is cut back to it before the error is reported, so the next run
 * resumes from a sound file. A crash (kill -9) during a write can still leave a partial last line,
 * which `open` drops. Appends are written one after another in call order, and after the first
 * failure, or `close`, nothing more is written: an error stops the log before the run's lock is freed.
 */
export class JsonlLog<R extends LogEntry> {
  /** cell key → item id → entry. */
  private readonly cells = new Map<string, Map<string, R>>();
  private readonly inFileOrder: R[] = [];
  /** Bytes of the file that are whole lines: where the next append starts. */
  private size = 0;
  private handle?: FileHandle;
  /** The appends in flight, in order: each starts where the one before ended. */
  private tail: Promise<void> = Promise.resolve();
  /** Why appends are refused: an append (or its check) failed, or the log was closed. */
  private stopped?: string;
  /** Closed: appends made before still write, later ones are refused. */
  private closed = false;
  /** Runs before every write (`checkBeforeAppend`). */
  private check?: () => Promise<void>;

  private constructor(readonly path: string) {}

  /** Reads an existing log (or starts an empty one if the file does not exist yet). */
  static async open<R extends LogEntry>(path: string, schema: z.ZodType<R>): Promise<JsonlLog<R>> {
    const { log, rewrite, size } = await JsonlLog.load(path, schema, 'repair');
    // Rewrite so the next append starts on a fresh line instead of gluing onto the broken tail.
    if (rewrite) {
      const text = log.inFileOrder.map((r) => `${JSON.stringify(r)}\n`).join('');
      await writeFileAtomic(path, text);
      log.size = Buffer.byteLength(text);
    } else log.size = size;
    return log;
  }

  /**
   * The entries of a log, in file order, read without touching the file (a report, while a run may
   * still be writing): a last line that is not JSON is an append in progress and is skipped; a last
   * line that is JSON but not an entry is corrupt, as anywhere else. No file reads as no entries.
   */
  static async read<R extends LogEntry>(path: string, schema: z.ZodType<R>): Promise<readonly R[]> {
    return (await JsonlLog.load(path, schema, 'read')).log.all();
  }

  /**
   * Parses the file. 'repair': any broken last line is an interrupted append, dropped, and the file
   * needs a rewrite; 'read': only a last line that is not JSON is (a prefix of a record is never JSON).
   */
  private static async load<R extends LogEntry>(
    path: string,
    schema: z.ZodType<R>,
    mode: 'repair' | 'read',
  ): Promise<{ log: JsonlLog<R>; rewrite: boolean; size: number }> {
    const log = new JsonlLog<R>(path);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { log, rewrite: false, size: 0 };
      throw new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const text = bytes.toString('utf8');
    if (text.length === 0) return { log, rewrite: false, size: 0 };

    const lines = text.split('\n');
    // A well-formed log ends with '\n'; anything after the last one is an unfinished append.
    const endsWithNewline = lines.at(-1) === '';
    if (endsWithNewline) lines.pop();
    let rewrite = !endsWithNewline;
    for (const [index, line] of lines.entries()) {
      const parsed = parseLine(line, schema);
      const isLast = index === lines.length - 1;
      if ('problem' in parsed) {
        if (isLast && (mode === 'repair' || !parsed.json)) {
          rewrite = true;
          break;
        }
        throw new UserError(
          `${path}:${index + 1}: corrupt record (${parsed.problem})${isLast ? '' : '; only the last line may be cut short by an interrupted run'}`,
        );
      }
      const { record } = parsed;
      if (log.has(record.row, record.split, record.id)) {
        throw new UserError(
          `${path}:${index + 1}: duplicate record for row "${record.row}", split "${record.split}", id "${record.id}"`,
        );
      }
      log.remember(record);
    }
    return { log, rewrite, size: bytes.length };
  }

  has(row: string, split: string, id: string): boolean {
    return this.get(row, split, id) !== undefined;
  }

  get(row: string, split: string, id: string): R | undefined {
    return this.cells.get(cellKey(row, split))?.get(id);
  }

  /** Every entry, in the order it was written. */
  all(): readonly R[] {
    return this.inFileOrder;
  }

  /** The entries of one cell sorted by id, so metrics do not depend on evaluation order. */
  forCell(row: string, split: string): R[] {
    return [...(this.cells.get(cellKey(row, split))?.values() ?? [])].sort(compareIds);
  }

  /**
   * Appends one entry. Recording a key twice is a bug in the caller (resume must skip recorded
   * ids), so it throws a plain Error. The key is claimed before the write so that concurrent
   * appends of the same key are caught too.
   */
  append(record: R): Promise<void> {
    return this.appendAll([record]);
  }

  /** Appends several entries in one write (a merge); the same rules as `append`. */
  async appendAll(records: readonly R[]): Promise<void> {
    if (this.closed) throw new UserError(`${this.path}: closed: no more records are written`);
    if (this.stopped) throw new UserError(`${this.path}: ${this.stopped}`);
    for (const [i, r] of records.entries()) {
      if (this.has(r.row, r.split, r.id)) {
        for (const claimed of records.slice(0, i)) this.forget(claimed);
        throw new Error(`record already present: row "${r.row}", split "${r.split}", id "${r.id}"`);
      }
      this.remember(r);
    }
    const bytes = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const write = this.tail.then(() => this.writeAtEnd(bytes));
    // The next append waits for this one whether it succeeds or not (a failure stops the log).
    this.tail = write.catch(() => undefined);
    try {
      await write;
    } catch (err) {
      for (const r of records) this.forget(r);
      throw err;
    }
  }

  /**
   * `check` runs before each write, after the entry was computed: a run verifies there that the data
   * it was keyed on is still what the folder holds (dataset-pin.ts). If it throws, nothing is written,
   * the log stops (no later append is written either) and the error reaches the append's caller.
   */
  checkBeforeAppend(check: () => Promise<void>): void {
    this.check = check;
  }

  /**
   * Refuses further appends and waits for the ones in flight, then closes the file: after this
   * resolves, nothing is written to the log (a run's error path calls it before releasing its lock).
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  /** Writes whole lines at the end of the last whole line; a failed write is cut back to it. */
  private async writeAtEnd(bytes: Buffer): Promise<void> {
    if (this.stopped) throw new UserError(`${this.path}: ${this.stopped}`);
    try {
      await this.check?.();
    } catch (err) {
      this.stopped = `stopped: ${(err as Error).message}`;
      throw err;
    }
    try {
      // Not O_APPEND: positional writes, so that a failed one can be cut back exactly.
      this.handle ??= await open(this.path, constants.O_WRONLY | constants.O_CREAT);
      await writeAll(this.handle, bytes, this.size);
      this.size += bytes.length;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      // A full disk or a folder made read-only under a running job: the user's to fix. What was
      // written of this append is removed, so the file ends with a whole line and a rerun resumes.
      const cut = await this.handle?.truncate(this.size).then(
        () => true,
        () => false,
      );
      const state = cut ? 'the file ends at its last whole record' : 'its last line may be cut short';
      this.stopped = `an append failed (${code}); ${state}`;
      throw new UserError(
        `${this.path}: cannot append a record (${code}); ${state}: re-run the same command to resume`,
      );
    }
  }

  private remember(record: R): void {
    const key = cellKey(record.row, record.split);
    let cell = this.cells.get(key);
    if (!cell) {
      cell = new Map();
      this.cells.set(key, cell);
    }
    cell.set(record.id, record);
    this.inFileOrder.push(record);
  }

  private forget(record: R): void {
    this.cells.get(cellKey(record.row, record.split))?.delete(record.id);
    this.inFileOrder.splice(this.inFileOrder.lastIndexOf(record), 1);
  }
}

/**
 * One item's intermediate result for a row that can only write its records once every item is done
 * (PointCLIP's β search needs every cloud's per-view scores): kept as it comes, so a killed run loses
 * none of them. `data` is the task's own.
 */
export interface IntermediateEntry extends LogEntry {
  data: unknown;
}

const intermediateSchema = z.object({ row: z.string(), split: z.string(), id: z.string(), data: z.unknown() });

/** The log of intermediate results, `intermediate.jsonl`. */
export type IntermediateLog = JsonlLog<IntermediateEntry>;

export const IntermediateLog = {
  open: (path: string): Promise<IntermediateLog> =>
    JsonlLog.open(path, intermediateSchema as z.ZodType<IntermediateEntry>),
};

/** The log of evaluation records, `records.jsonl`. */
export type RecordLog = JsonlLog<EvalRecord>;

export const RecordLog = {
  open: (path: string): Promise<RecordLog> => JsonlLog.open(path, evalRecordSchema as z.ZodType<EvalRecord>),
  read: (path: string): Promise<readonly EvalRecord[]> =>
    JsonlLog.read(path, evalRecordSchema as z.ZodType<EvalRecord>),
};
