import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { UserError } from './errors.js';
import { readTextFile } from './text-file.js';

/** A parsed YAML file that can say on which line a value sits. */
export interface YamlFile {
  file: string;
  value: unknown;
  /** `file:line` of the value at `path` (or of its nearest parent that exists). */
  where(path: readonly PropertyKey[]): string;
}

export async function readYamlFile(file: string): Promise<YamlFile> {
  const text = await readTextFile(file);
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new UserError(`${file}${line ? `:${line}` : ''}: not valid YAML (${e.message.split('\n')[0]})`);
  }
  return {
    file,
    value: doc.toJS(),
    where(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n) as unknown[], true);
        if (isNode(node) && node.range) return `${file}:${lineCounter.linePos(node.range[0]).line}`;
      }
      return file;
    },
  };
}
