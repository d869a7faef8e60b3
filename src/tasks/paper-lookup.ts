import path from 'node:path';
import { REPO_ROOT } from '../util/repo-paths.js';
import type { TableConfig, TableRowConfig } from './table-config.js';

/** Table 1 holds the paper's REC numbers for every method/setting/group that `falip eval` can run. */
export const TABLE1_CONFIG = path.join(REPO_ROOT, 'configs', 'table1.yaml');

/**
 * The paper's numbers for a row with these default-parameter methods, setting and subtraction, if
 * Table 1 has such a row. Rows with changed parameters have no paper number (the paper reports defaults).
 */
export function paperNumbersFor(table1: TableConfig, methods: readonly string[], setting: string, subtract: boolean): TableRowConfig['paper'] | undefined {
  const same = (r: TableRowConfig) =>
    r.setting === setting &&
    (r.subtract !== false) === subtract &&
    r.methods !== undefined &&
    r.methods.length === methods.length &&
    r.methods.every((m, i) => m === methods[i]);
  return table1.rows.find(same)?.paper;
}
