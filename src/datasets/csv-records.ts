import { UserError } from '../util/errors.js';

/** One record of a CSV file with the line it starts on (a quoted field may hold line breaks). */
export interface CsvRecord {
  /** 1-based line of the record's first character. */
  line: number;
  fields: string[];
}

/**
 * The records of a CSV text (RFC 4180: comma-separated, `"` quotes a field, `""` inside quotes is a
 * quote, quoted fields may hold commas and line breaks; a quote inside an unquoted field is kept as
 * is, as pandas reads it). Each record knows its own first line, so a quoted line break does not shift
 * the line numbers of the records after it. A quote that is never closed would swallow the rest of the
 * file into one field: it is an error naming the line it opened on.
 */
export function csvRecords(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let recordLine = 1;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' && field === '') {
      // A quoted field: up to the closing quote, through commas and line breaks.
      const opened = line;
      i++;
      for (;;) {
        if (i >= text.length)
          throw new UserError(`${file}:${opened}: (csv): a quoted field opened on this line is never closed`);
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '\n') line++;
        field += c;
        i++;
      }
      continue;
    }
    if (ch === ',') {
      fields.push(field);
      field = '';
      i++;
      continue;
    }
    if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      i++;
      line++;
      recordLine = line;
      continue;
    }
    field += ch;
    i++;
  }
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}
