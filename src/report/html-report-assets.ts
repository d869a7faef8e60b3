/**
 * The report page's inline style and script. Inline, so the file opens from the file system with no
 * request at all (the page's Content-Security-Policy forbids any); plain DOM code, no framework.
 */

/** Example cards per page: enough to scan, few enough that a page of thumbnails decodes at once. */
export const PAGE_SIZE = 24;

export const REPORT_CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1280px; padding: 20px 28px 60px; color: #1f2328; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.about { margin: 0; padding: 0; list-style: none; color: var(--muted); font-size: 13px; }
table.results { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.results th, table.results td { border: 1px solid var(--line); padding: 5px 9px; vertical-align: top; }
table.results th { background: #f6f8fa; text-align: center; }
table.results td { text-align: right; white-space: nowrap; } table.results td.label { text-align: left; white-space: normal; }
td .ours { font-weight: 600; } td .sub { display: block; color: var(--muted); font-size: 12px; } td .status { font-style: italic; color: var(--muted); }
.delta-pos { color: var(--ok); } .delta-neg { color: var(--bad); }
ol.footnotes { color: var(--muted); font-size: 12.5px; padding-left: 22px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; } .plots figure { margin: 0; } .plots img { max-width: 600px; width: 100%; border: 1px solid var(--line); }
.controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin-bottom: 8px; }
.controls button { padding: 3px 10px; } #page-info, #counts { color: var(--muted); }
.legend { display: flex; gap: 18px; font-size: 12.5px; color: var(--muted); margin-bottom: 12px; }
.legend span::before { content: ""; display: inline-block; width: 18px; height: 10px; margin-right: 6px; vertical-align: middle; border: 2px solid; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 14px; }
.card { border: 1px solid var(--line); border-left: 4px solid var(--bad); border-radius: 6px; padding: 8px; background: #fff; }
.card.correct { border-left-color: var(--ok); }
.thumb { position: relative; display: inline-block; line-height: 0; }
.thumb img { display: block; max-width: 256px; max-height: 256px; }
.box { position: absolute; border: 2px solid; pointer-events: none; }
.box.target, .legend .target::before { border-color: #2da44e; }
.box.pred, .legend .pred::before { border-color: #ff3b30; border-style: dashed; }
.box.candidate, .legend .candidate::before { border-color: rgba(60, 60, 60, 0.55); border-width: 1px; box-shadow: 0 0 0 1px rgba(255, 255, 255, 0.6); }
.box.region, .legend .region::before { border-color: #ffd60a; }
.caption { margin-top: 6px; font-weight: 600; }
.meta { font-size: 12px; color: var(--muted); }
.badge { font-weight: 700; } .badge.ok { color: var(--ok); } .badge.bad { color: var(--bad); }
ul.lines { margin: 4px 0 0; padding-left: 18px; font-size: 12.5px; } ul.lines li.mark { font-weight: 700; color: var(--ok); }
.missing { color: var(--muted); font-style: italic; }
`;

/** Renders the cards of the chosen row and outcome, a page at a time, from the JSON data block. */
export const REPORT_JS = `
(() => {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const ex = data.examples;
  const PAGE = ${PAGE_SIZE};
  const $ = (id) => document.getElementById(id);
  const state = { row: ex.rows.length ? ex.rows[0].key : '', outcome: 'all', page: 0 };
  const rowSelect = $('row-select');
  for (const r of ex.rows) {
    const o = document.createElement('option');
    o.value = r.key;
    o.textContent = r.label;
    rowSelect.appendChild(o);
  }
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const pct = (x) => (100 * x).toFixed(2) + '%';
  function card(c) {
    const root = el('div', 'card ' + (c.correct ? 'correct' : 'wrong'));
    root.dataset.id = c.id;
    const thumb = el('div', 'thumb');
    const img = el('img');
    img.src = ex.images[c.image];
    img.alt = c.caption;
    thumb.appendChild(img);
    for (const b of c.boxes) {
      const d = el('div', 'box ' + b.kind);
      d.style.left = pct(b.box[0]);
      d.style.top = pct(b.box[1]);
      d.style.width = pct(b.box[2]);
      d.style.height = pct(b.box[3]);
      thumb.appendChild(d);
    }
    root.appendChild(thumb);
    root.appendChild(el('div', 'caption', c.caption));
    const meta = el('div', 'meta');
    meta.appendChild(el('span', 'badge ' + (c.correct ? 'ok' : 'bad'), c.correct ? 'correct' : 'wrong'));
    meta.appendChild(document.createTextNode(' · ' + c.split + ' · ' + c.id));
    root.appendChild(meta);
    const lines = el('ul', 'lines');
    for (const l of c.lines) lines.appendChild(el('li', l.mark ? 'mark' : '', l.text));
    root.appendChild(lines);
    return root;
  }
  function render() {
    const ofRow = ex.cards.filter((c) => c.row === state.row);
    const shown = ofRow.filter((c) => state.outcome === 'all' || (state.outcome === 'correct') === c.correct);
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const box = $('cards');
    box.replaceChildren(...shown.slice(state.page * PAGE, (state.page + 1) * PAGE).map(card));
    $('page-info').textContent = 'page ' + (state.page + 1) + ' of ' + pages;
    $('counts').textContent = shown.length + ' shown of ' + ofRow.length + ' sampled (' + ofRow.filter((c) => c.correct).length + ' correct)';
    $('prev').disabled = state.page === 0;
    $('next').disabled = state.page >= pages - 1;
    document.body.dataset.ready = 'true';
  }
  rowSelect.addEventListener('change', () => { state.row = rowSelect.value; state.page = 0; render(); });
  $('outcome-filter').addEventListener('change', (e) => { state.outcome = e.target.value; state.page = 0; render(); });
  $('prev').addEventListener('click', () => { state.page -= 1; render(); });
  $('next').addEventListener('click', () => { state.page += 1; render(); });
  render();
})();
`;
