import { appendFile, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
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

const evalRecordSchema = z
  .object({
    row: z.string(),
    split: z.string(),
    id: z.string(),
    pred: z.number(),
    correct: z.boolean(),
    scores: z.array(z.number().nullable()).optional(),
  })
  .loose();

/** One parsed line, or why it is not a record (and whether it was JSON at all). */
type ParsedLine = { record: EvalRecord } | { problem: string; json: boolean };

/** Parses one line; returns a reason instead of throwing so the caller can decide what a bad line means. */
function parseRecordLine(line: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { problem: 'not valid JSON', json: false };
  }
  const parsed = safeParseWith(evalRecordSchema, json);
  return parsed.success ? { record: parsed.data } : { problem: describeIssue(parsed.error), json: true };
}

/** A JSON array key cannot collide the way "a|b" + "c" and "a" + "b|c" would with a separator. */
function cellKey(row: string, split: string): string {
  return JSON.stringify([row, split]);
}

/** Orders records by id (code-unit order, independent of locale). */
export function compareIds(a: EvalRecord, b: EvalRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The append-only `records.jsonl` of a run: one JSON line per evaluated item, so an interrupted run
 * resumes by skipping what is already recorded. Each line is written with a single append, hence a
 * crash leaves at most one partial line, the last, which `open` drops.
 */
export class RecordLog {
  /** cell key → item id → record. */
  private readonly cells = new Map<string, Map<string, EvalRecord>>();
  private readonly inFileOrder: EvalRecord[] = [];

  private constructor(readonly path: string) {}

  /** Reads an existing log (or starts an empty one if the file does not exist yet). */
  static async open(path: string): Promise<RecordLog> {
    const { log, rewrite } = await RecordLog.load(path, 'repair');
    // Rewrite so the next append starts on a fresh line instead of gluing onto the broken tail.
    if (rewrite) await writeFileAtomic(path, log.inFileOrder.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return log;
  }

  /**
   * The records of a log, in file order, read without touching the file (a report, while a run may
   * still be writing): a last line that is not JSON is an append in progress and is skipped; a last
   * line that is JSON but not a record is corrupt, as anywhere else. No file reads as no records.
   */
  static async read(path: string): Promise<readonly EvalRecord[]> {
    return (await RecordLog.load(path, 'read')).log.all();
  }

  /**
   * Parses the file. 'repair': any broken last line is an interrupted append, dropped, and the file
   * needs a rewrite; 'read': only a last line that is not JSON is (a prefix of a record is never JSON).
   */
  private static async load(path: string, mode: 'repair' | 'read'): Promise<{ log: RecordLog; rewrite: boolean }> {
    const log = new RecordLog(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { log, rewrite: false };
      throw new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (text.length === 0) return { log, rewrite: false };

    const lines = text.split('\n');
    // A well-formed log ends with '\n'; anything after the last one is an unfinished append.
    const endsWithNewline = lines.at(-1) === '';
    if (endsWithNewline) lines.pop();
    let rewrite = !endsWithNewline;
    for (const [index, line] of lines.entries()) {
      const parsed = parseRecordLine(line);
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
    return { log, rewrite };
  }

  has(row: string, split: string, id: string): boolean {
    return this.get(row, split, id) !== undefined;
  }

  get(row: string, split: string, id: string): EvalRecord | undefined {
    return this.cells.get(cellKey(row, split))?.get(id);
  }

  /** Every record, in the order it was written. */
  all(): readonly EvalRecord[] {
    return this.inFileOrder;
  }

  /** The records of one cell sorted by id, so metrics do not depend on evaluation order. */
  forCell(row: string, split: string): EvalRecord[] {
    return [...(this.cells.get(cellKey(row, split))?.values() ?? [])].sort(compareIds);
  }

  /**
   * Appends one record. Recording a key twice is a bug in the caller (resume must skip recorded
   * ids), so it throws a plain Error. The key is claimed before the write so that concurrent
   * appends of the same key are caught too.
   */
  async append(record: EvalRecord): Promise<void> {
    if (this.has(record.row, record.split, record.id)) {
      throw new Error(`record already present: row "${record.row}", split "${record.split}", id "${record.id}"`);
    }
    this.remember(record);
    try {
      await appendFile(this.path, `${JSON.stringify(record)}\n`);
    } catch (err) {
      this.forget(record);
      // A full disk or a folder made read-only under a running job: the user's to fix; nothing recorded is lost.
      throw new UserError(
        `${this.path}: cannot append a record (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }

  /** Appends many records in one write (a merge); the same rules as `append`. */
  async appendAll(records: readonly EvalRecord[]): Promise<void> {
    for (const r of records) {
      if (this.has(r.row, r.split, r.id))
        throw new Error(`record already present: row "${r.row}", split "${r.split}", id "${r.id}"`);
      this.remember(r);
    }
    try {
      await appendFile(this.path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    } catch (err) {
      for (const r of records) this.forget(r);
      throw new UserError(
        `${this.path}: cannot append records (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }

  private remember(record: EvalRecord): void {
    const key = cellKey(record.row, record.split);
    let cell = this.cells.get(key);
    if (!cell) {
      cell = new Map();
      this.cells.set(key, cell);
    }
    cell.set(record.id, record);
    this.inFileOrder.push(record);
  }

  private forget(record: EvalRecord): void {
    this.cells.get(cellKey(record.row, record.split))?.delete(record.id);
    this.inFileOrder.splice(this.inFileOrder.lastIndexOf(record), 1);
  }
}
