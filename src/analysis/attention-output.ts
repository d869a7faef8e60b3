import { scatterPlot } from '../report/plot.js';
import type { AttentionRow } from './analyze-attention.js';
import { HEAD_STATISTICS, type HeadStatistics } from './attention-statistics.js';

/** How the plots and the terminal name each statistic (docs/attention-statistics.md defines them). */
export const STATISTIC_LABELS: Record<keyof HeadStatistics, string> = {
  entropy_all: 'attention entropy, all query rows (nats)',
  entropy_cls: 'attention entropy, CLS row (nats)',
  distance_wo_prompt: 'mean attention distance W/O prompt (px)',
  distance_w_prompt: 'mean attention distance W prompt (px)',
  cls_prompt_mass: 'CLS attention on prompt tokens',
  cls_foreground_share: 'CLS foreground share (ours)',
};

const COLUMNS = ['prompts', 'method', 'layer', 'head', ...HEAD_STATISTICS] as const;

/** attention.csv: one line per series, layer and head; numbers at full precision. */
export function attentionCsv(rows: readonly AttentionRow[]): string {
  const quote = (x: string) => (/[",\n]/.test(x) ? `"${x.replaceAll('"', '""')}"` : x);
  const lines = rows.map((r) => COLUMNS.map((c) => quote(String(r[c]))).join(','));
  return `${[COLUMNS.join(','), ...lines].join('\n')}\n`;
}

/** A series' name in plots and the terminal: `CLIP plain`, `coop-s1 falip`. */
export function seriesName(r: Pick<AttentionRow, 'prompts' | 'method'>): string {
  return `${r.prompts} ${r.method}`;
}

/** The file stem of a statistic's plot: attention-entropy-all. */
export function plotStem(stat: keyof HeadStatistics): string {
  return `attention-${stat.replaceAll('_', '-')}`;
}

/** Per statistic, seed 003's Fig. 5: one dot per head, layers along x, a colour and shape per series. */
export async function attentionPlots(
  rows: readonly AttentionRow[],
  where: string,
): Promise<[string, string | Uint8Array][]> {
  const names = [...new Set(rows.map(seriesName))];
  const files: [string, string | Uint8Array][] = [];
  for (const stat of HEAD_STATISTICS) {
    const plot = await scatterPlot({
      title: `${STATISTIC_LABELS[stat]} per head (${where})`,
      xLabel: 'layer',
      yLabel: STATISTIC_LABELS[stat],
      series: names.map((name) => ({
        name,
        points: rows.filter((r) => seriesName(r) === name).map((r) => ({ x: r.layer, y: r[stat] })),
      })),
    });
    files.push([`${plotStem(stat)}.svg`, plot.svg], [`${plotStem(stat)}.png`, plot.png]);
  }
  return files;
}
