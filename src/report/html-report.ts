import { REPORT_CSS, REPORT_JS } from './html-report-assets.js';
import type { HtmlReportModel, ReportCell, ReportExamples, ReportTable } from './html-report-model.js';
import { fixed1, signed1 } from './render-markdown.js';
import { escapeXml as escapeHtml } from './svg-figure.js';

/**
 * Nothing may leave the file: images are data: URIs, style and script are inline, and the policy says so
 * to the browser too (a stray reference fails loudly instead of fetching).
 */
const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

function cellHtml(c: ReportCell): string {
  const paper = c.paper === null ? '' : `paper ${fixed1(c.paper)}`;
  const delta =
    c.delta === null
      ? ''
      : ` · <span class="${c.delta >= 0 ? 'delta-pos' : 'delta-neg'}">Δ ${signed1(c.delta, '−')}</span>`;
  const sub = paper || delta ? `<span class="sub">${paper}${delta}</span>` : '';
  if (!c.ours) return `<td><span class="status">${escapeHtml(c.status ?? 'not run')}</span>${sub}</td>`;
  const { value, ci, n, spread } = c.ours;
  const interval = ci ? ` ±${fixed1((ci[1] - ci[0]) / 2)}` : spread ? ` sd ${fixed1(spread.sd)}` : '';
  const partial = c.status ? ` <span class="status">${escapeHtml(c.status)}</span>` : '';
  return `<td><span class="ours">${fixed1(value)}</span>${interval}${partial}<span class="sub">n=${n}</span>${sub}</td>`;
}

function tableHtml(t: ReportTable): string {
  const head = `<tr><th>Method</th>${t.columns
    .map((c) => `<th>${escapeHtml(c.label)}${c.subset ? `<span class="sub">${escapeHtml(c.subset)}</span>` : ''}</th>`)
    .join('')}</tr>`;
  const body = t.rows
    .map(
      (r) =>
        `<tr data-row="${escapeHtml(r.key)}"><td class="label">${escapeHtml(r.label)}</td>${r.cells.map(cellHtml).join('')}</tr>`,
    )
    .join('\n');
  const notes =
    t.footnotes.length > 0
      ? `<ol class="footnotes">${t.footnotes.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ol>`
      : '';
  return `<h3>${escapeHtml(t.title)}</h3>\n<table class="results" id="results-table"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>\n${notes}`;
}

function examplesHtml(ex: ReportExamples): string {
  const legend = ex.legend.map((l) => `<span class="${l.kind}">${escapeHtml(l.text)}</span>`).join('');
  return `<p class="about">A seeded sample of up to ${ex.perRow} items per row (thumbnails); pick the row and the outcome, ${ex.cards.length} cards in all.</p>
<div class="controls">
<label>Row <select id="row-select"></select></label>
<label>Show <select id="outcome-filter"><option value="all">all</option><option value="correct">correct</option><option value="wrong">wrong</option></select></label>
<button id="prev" type="button">‹ prev</button><span id="page-info"></span><button id="next" type="button">next ›</button>
<span id="counts"></span>
</div>
<div class="legend">${legend}</div>
<div id="cards" class="cards"></div>`;
}

/** JSON inside a <script> element: `<` escaped so no string in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** One self-contained HTML page of a run: the results table, the sweep plots, paged example cards. */
export function renderHtmlReport(m: HtmlReportModel): string {
  const examples = 'missing' in m.examples ? null : m.examples;
  const sections = [
    `<section id="results"><h2>Results</h2>\n${m.table ? tableHtml(m.table) : '<p class="missing">No results table yet (metrics.json is written when a run finishes).</p>'}</section>`,
    m.plots.length > 0
      ? `<section id="plots"><h2>Sweep plots</h2><div class="plots">${m.plots.map((p) => `<figure><img src="${p.dataUri}" alt="${escapeHtml(p.title)}"><figcaption>${escapeHtml(p.title)}</figcaption></figure>`).join('')}</div></section>`
      : '',
    `<section id="examples"><h2>Examples</h2>\n${examples ? examplesHtml(examples) : `<p class="missing">${escapeHtml((m.examples as { missing: string }).missing)}</p>`}</section>`,
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(m.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(m.title)}</h1><ul class="about">${m.about.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul></header>
${sections.filter(Boolean).join('\n')}
${examples ? `<script type="application/json" id="report-data">${scriptJson({ examples })}</script>\n<script>${REPORT_JS}</script>` : ''}
</body>
</html>
`;
}
