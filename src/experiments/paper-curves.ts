import path from 'node:path';
import type { PlotSeries } from '../report/plot.js';
import { CONFIG_DIR } from './paper-lookup.js';
import type { PaperNumbersAt, SweepPoint } from './sweep-grid.js';
import { readTableConfig, type RowConfig, type TableConfig } from './table-config.js';

/** The paper's sweeps average RefCOCO, RefCOCO+ and RefCOCOg: 8 splits, whatever the sweep evaluated. */
export const PAPER_CURVE_LABEL = 'paper (avg of 8 splits)';

/** One row of a paper sweep table: the swept value and the paper's numbers (by column key, plus `avg`). */
export interface PaperSweepRow {
  x: number;
  paper: RowConfig['paper'];
}

/**
 * Table 10 sweeps α at σ 100 and Table 11 sweeps σ at α 0.2; both with gold boxes, layers 9-12 and
 * mask form (a).
 */
export interface PaperSweeps {
  alpha: PaperSweepRow[];
  sigma: PaperSweepRow[];
}

function sweepRows(cfg: TableConfig, param: 'alpha' | 'sigma'): PaperSweepRow[] {
  return cfg.rows.map((row) => {
    const x = row.methods?.[0]?.params[param];
    if (typeof x !== 'number') throw new Error(`${cfg.name}: row ${row.key} does not set ${param}`);
    return { x, paper: row.paper };
  });
}

export async function readPaperSweeps(configDir: string = CONFIG_DIR): Promise<PaperSweeps> {
  const [alpha, sigma] = await Promise.all([
    readTableConfig(path.join(configDir, 'table10-alpha.yaml')),
    readTableConfig(path.join(configDir, 'table11-sigma.yaml')),
  ]);
  return { alpha: sweepRows(alpha, 'alpha'), sigma: sweepRows(sigma, 'sigma') };
}

/** The paper's average accuracy against the swept value, for overlaying on a sweep plot. */
export function paperCurve(rows: readonly PaperSweepRow[]): PlotSeries {
  const points = rows.flatMap((r) => (typeof r.paper.avg === 'number' ? [{ x: r.x, y: r.paper.avg }] : []));
  return { name: PAPER_CURVE_LABEL, points };
}

/** The paper reports its sweeps on REC with gold boxes, without P, and everything but the swept value at FALIP's defaults. */
function atPaperFixedSettings(p: SweepPoint, options: unknown): boolean {
  const o = options as { setting?: string; subtract?: unknown };
  return (
    o.setting === 'gold' && o.subtract === undefined && p.form === 'a' && (p.layers === null || p.layers === '9-12')
  );
}

/** Looks a grid point up in Table 10 (σ 100) or Table 11 (α 0.2); no numbers where the paper has no such row. */
export function paperNumbersAt(sweeps: PaperSweeps): PaperNumbersAt {
  return (p, options) => {
    if (!atPaperFixedSettings(p, options)) return {};
    const row =
      (p.sigma === 100 && sweeps.alpha.find((r) => r.x === p.alpha)) ||
      (p.alpha === 0.2 && sweeps.sigma.find((r) => r.x === p.sigma));
    return row ? row.paper : {};
  };
}
