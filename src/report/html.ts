// The report page: one self-contained HTML file (inline style and script, images embedded as data:
// URLs or linked locally; a Content-Security-Policy forbids every network fetch). Pure.
import { formatCount } from '../format.ts';
import type { ReportCounts, ReportEntry } from './model.ts';

/** What the page shows in place of each image: a src (data: URL or relative link), or why there is none. */
export type Thumb = { src: string } | { none: string };

export interface PageOptions {
  title: string;
  generated: string;
  /** --link: thumbnails point at the originals on disk, so the page may load local files. */
  linked: boolean;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const FILTERS: Array<[id: string, label: string]> = [
  ['all', 'all'],
  ['ok', 'ok'],
  ['failed', 'failed'],
  ['refused', 'refused'],
  ['empty', 'empty'],
  ['truncated', 'truncated'],
  ['chatter', 'chatter removed'],
];

function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.map(String).join(', ');
  return JSON.stringify(v);
}

/** --schema records: one row per field. */
function fieldTable(data: unknown): string {
  const objects = Array.isArray(data) ? data : [data];
  return objects
    .map((o) => {
      if (typeof o !== 'object' || o === null || Array.isArray(o)) return `<pre class="data">${esc(JSON.stringify(o, null, 2))}</pre>`;
      const rows = Object.entries(o).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(valueText(v))}</td></tr>`);
      return `<table class="fields">${rows.join('')}</table>`;
    })
    .join('');
}

function card(e: ReportEntry, thumb: Thumb, index: number, linked: boolean): string {
  const state = e.ok ? 'ok' : 'failed';
  const captionText = e.captions.join('\n');
  const searchText = [
    e.image,
    captionText,
    e.data === undefined ? '' : JSON.stringify(e.data),
    e.model ?? '',
    e.verdict ?? '',
    e.error ?? '',
    e.fallback ?? '',
  ].join('\n');
  const img =
    'src' in thumb
      ? `<a href="${esc(e.remote ? e.location : thumb.src)}" target="_blank" rel="noopener"><img src="${esc(thumb.src)}" alt="${esc(e.image)}"${linked ? ' loading="lazy"' : ''}></a>`
      : `<div class="noimg">${esc(thumb.none)}</div>`;
  const meta = [
    e.model ? `<span>${esc(e.model)}</span>` : '',
    e.tokens !== null ? `<span>${e.tokens} tokens</span>` : '',
    e.finishReason && e.finishReason !== 'stop' ? `<span>finish: ${esc(e.finishReason)}</span>` : '',
  ].join('');
  const badges = [
    `<b class="badge ${state}">${state}</b>`,
    e.verdict ? `<b class="badge v-${esc(e.verdict)}">${esc(e.verdict)}</b>` : '',
  ].join('');
  const body = [
    e.data !== undefined && e.ok ? fieldTable(e.data) : '',
    e.captions.length && (e.data === undefined || !e.ok) ? e.captions.map((c) => `<p class="caption">${esc(c)}</p>`).join('') : '',
    e.error ? `<p class="error">${esc(e.error)}</p>` : '',
    e.fallback ? `<p class="fallback">answered by the fallback model; ${esc(e.fallback)}</p>` : '',
    e.removed.length
      ? `<details class="removed"><summary>removed (${e.removed.length})</summary>${e.removed.map((r) => `<p>${esc(r)}</p>`).join('')}</details>`
      : '',
  ].join('');
  return (
    `<article class="card" id="i${index}" data-state="${state}" data-verdict="${esc(e.verdict ?? '')}" data-caption="${esc(captionText)}" data-search="${esc(searchText.toLowerCase())}">` +
    `<div class="thumb">${img}</div><div class="text"><h2 title="${esc(e.location)}">${esc(e.image)}</h2><div class="meta">${badges}${meta}</div>${body}</div></article>`
  );
}

const STYLE = `
:root{color-scheme:light dark;--bg:#f6f6f4;--fg:#1d1d1f;--card:#fff;--muted:#6b6b70;--line:#ddd;--ok:#1a7f37;--bad:#c62828;--warn:#b26a00}
@media (prefers-color-scheme:dark){:root{--bg:#161618;--fg:#e8e8ea;--card:#222226;--muted:#9a9aa2;--line:#3a3a40}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif;background:var(--bg);color:var(--fg)}
header{position:sticky;top:0;z-index:1;background:var(--bg);border-bottom:1px solid var(--line);padding:10px 16px}
h1{font-size:17px;margin:0 0 6px}.counts span{margin-right:14px}.counts b{font-variant-numeric:tabular-nums}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-top:8px}
.controls label.f{border:1px solid var(--line);border-radius:14px;padding:2px 10px;cursor:pointer;user-select:none}
.controls input[type=radio]{display:none}.controls input[type=radio]:checked+span{font-weight:600}
.controls label.f:has(input:checked){background:var(--fg);color:var(--bg)}
.controls input[type=search],.controls input[type=text],.controls select{font:inherit;padding:3px 6px;border:1px solid var(--line);border-radius:4px;background:var(--card);color:var(--fg)}
#shown{color:var(--muted)}main{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px;padding:12px 16px}
.card{display:flex;gap:12px;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px;min-width:0}
.card[hidden]{display:none}.thumb{flex:0 0 160px}.thumb img{max-width:160px;max-height:160px;display:block;border-radius:3px}
.noimg{width:160px;height:100px;display:flex;align-items:center;justify-content:center;text-align:center;color:var(--muted);border:1px dashed var(--line);border-radius:3px;font-size:12px;padding:6px}
.text{min-width:0;flex:1}h2{font-size:13px;margin:0 0 4px;word-break:break-all}
.meta{font-size:12px;color:var(--muted);display:flex;flex-wrap:wrap;gap:8px;margin-bottom:6px}
.badge{font-weight:600}.badge.ok{color:var(--ok)}.badge.failed,.v-refused,.v-empty,.v-truncated{color:var(--bad)}.v-chatter{color:var(--warn)}
.caption{white-space:pre-wrap;margin:0 0 6px}.error{color:var(--bad);margin:0 0 6px;word-break:break-word}
.removed,.fallback{font-size:12px;color:var(--muted)}.fallback{margin:0 0 6px}.removed p{margin:2px 0;white-space:pre-wrap}
table.fields{border-collapse:collapse;font-size:13px;margin-bottom:6px;width:100%}table.fields th{text-align:left;vertical-align:top;padding:2px 8px 2px 0;color:var(--muted);font-weight:500;white-space:nowrap}
table.fields td{padding:2px 0;word-break:break-word}pre.data{font-size:12px;white-space:pre-wrap}
`;

// Filters: state/verdict buttons, a whole word that captions have or lack, and a search over everything.
const SCRIPT = String.raw`
(() => {
  const cards = [...document.querySelectorAll('article.card')];
  const shown = document.getElementById('shown');
  const search = document.getElementById('search');
  const word = document.getElementById('word');
  const has = document.getElementById('has');
  const quote = (s) => s.replace(/[.*+?^$(){}|[\]\\]/g, '\\$&');
  function apply() {
    const f = document.querySelector('input[name=filter]:checked').value;
    const q = search.value.trim().toLowerCase();
    const w = word.value.trim();
    // A whole word; for CJK (no spaces between words) the text as it is.
    const re = !w ? null : /[^\u0000-\u024f]/.test(w) ? new RegExp(quote(w), 'iu') : new RegExp('(^|[^\\p{L}\\p{N}_])' + quote(w) + '($|[^\\p{L}\\p{N}_])', 'iu');
    let n = 0;
    for (const c of cards) {
      const d = c.dataset;
      let show = f === 'all' || (f === 'ok' || f === 'failed' ? d.state === f : d.verdict === f);
      if (show && q) show = d.search.includes(q);
      if (show && re) show = re.test(d.caption) === (has.value === 'has');
      c.hidden = !show;
      if (show) n++;
    }
    shown.textContent = n + ' of ' + cards.length + ' shown';
  }
  for (const el of document.querySelectorAll('input[name=filter]')) el.addEventListener('change', apply);
  for (const el of [search, word]) el.addEventListener('input', apply);
  has.addEventListener('change', apply);
  apply();
})();
`;

export function renderReport(entries: ReportEntry[], thumbs: Thumb[], counts: ReportCounts, opts: PageOptions): string {
  const v = counts.verdicts;
  const filters = FILTERS.map(([id, label]) => {
    const n = id === 'all' ? counts.total : id === 'ok' ? counts.ok : id === 'failed' ? counts.failed : (v[id] ?? 0);
    return `<label class="f"><input type="radio" name="filter" value="${id}"${id === 'all' ? ' checked' : ''}><span>${label} (${n})</span></label>`;
  }).join('');
  const imgSrc = opts.linked ? "data: file: 'self'" : 'data:';
  const csp = `default-src 'none'; img-src ${imgSrc}; style-src 'unsafe-inline'; script-src 'unsafe-inline'`;
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="imgdesc">
<title>${esc(opts.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${esc(opts.title)}</h1>
<div class="counts"><span><b id="n-total">${counts.total}</b> images</span><span><b id="n-ok">${counts.ok}</b> ok</span><span><b id="n-failed">${counts.failed}</b> failed</span>` +
    `<span><b id="n-tokens">${formatCount(counts.tokens)}</b> tokens</span>` +
    (counts.models.length ? `<span>${esc(counts.models.join(', '))}</span>` : '') +
    `<span class="gen">${esc(opts.generated)}</span></div>
<div class="controls">${filters}
<input type="search" id="search" placeholder="search names, captions, errors" aria-label="search">
<select id="has" aria-label="has or lacks"><option value="has">captions with</option><option value="lacks">captions without</option></select>
<input type="text" id="word" placeholder="word" aria-label="word"><span id="shown"></span></div></header>
<main>
${entries.map((e, i) => card(e, thumbs[i] ?? { none: 'no preview' }, i, opts.linked)).join('\n')}
</main>
<script>${SCRIPT}</script>
</body></html>
`
  );
}
