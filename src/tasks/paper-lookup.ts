import path from 'node:path';
import { REPO_ROOT } from '../util/repo-paths.js';
import { readTableConfig, type TableRowConfig } from './table-config.js';

/** Table 1 holds the paper's REC numbers for every method/setting/group that `falip eval` can run. */
export const TABLE1_CONFIG = path.join(REPO_ROOT, 'configs', 'table1.yaml');

/**
 * The paper's numbers for a row with these default-parameter methods, setting and subtraction, if
 * Table 1 has such a row. Rows with changed parameters have no paper number (the paper reports defaults).
 */
export async function paperNumbersFor(methods: readonly string[], setting: string, subtract: boolean): Promise<TableRowConfig['paper'] | undefined> {
  const table1 = await readTableConfig(TABLE1_CONFIG);
  const same = (r: TableRowConfig) =>
    r.setting === setting &&
    (r.subtract !== false) === subtract &&
    r.methods !== undefined &&
    r.methods.length === methods.length &&
    r.methods.every((m, i) => m === methods[i]);
  return table1.rows.find(same)?.paper;
}
