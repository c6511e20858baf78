// Live deliveries: the recent record (GET /admin/deliveries) kept current by the server's events
// (GET /admin/stream), filtered by source, status and text; a drawer with one delivery's detail.

import { api, stream } from './api.js';
import { h, replace, time, pretty } from './dom.js';

const STATUSES = ['', 'delivered', 'retrying', 'outbox', 'dead_lettered'];

export function render(main) {
  const rows = new Map();
  const source = h('input', { type: 'search', id: 'd-source', autocomplete: 'off' });
  const status = h('select', { id: 'd-status' }, STATUSES.map((s) => h('option', { value: s, text: s || 'any' })));
  const text = h('input', { type: 'search', id: 'd-q', autocomplete: 'off' });
  const live = h('span', { class: 'pill', text: 'connecting…' });
  const body = h('tbody');
  const drawer = h('aside', { class: 'drawer', hidden: true, 'aria-label': 'Delivery detail', tabindex: '-1' });

  replace(main, h('h1', {}, 'Live deliveries ', live),
    h('div', { class: 'filters', role: 'search' },
      h('label', { for: 'd-source', text: 'Source' }), source,
      h('label', { for: 'd-status', text: 'SL1 status' }), status,
      h('label', { for: 'd-q', text: 'Text' }), text),
    h('div', { class: 'scroll' }, h('table', { class: 'live' },
      h('thead', {}, h('tr', {}, ['Time', 'Source', 'Event', 'Delivery id', 'HTTP', 'SL1', 'Tries', 'Latency', 'Message']
        .map((t) => h('th', { scope: 'col', text: t })))), body)),
    drawer);

  const matches = (d) => (!source.value || d.source === source.value.trim())
    && (!status.value || d.sl1_status === status.value)
    && (!text.value || JSON.stringify(d).toLowerCase().includes(text.value.toLowerCase()));

  function row(d) {
    return h('tr', { 'data-id': d.id, 'data-status': d.sl1_status, class: d.sl1_status },
      h('td', {}, h('button', { type: 'button', class: 'link', text: time(d.time_ms), 'aria-label': `Open delivery ${d.id}`, onclick: () => open(d.id) })),
      h('td', { text: d.source }), h('td', { text: d.event || '' }), h('td', { class: 'mono', text: d.delivery_id || '' }),
      h('td', { text: d.http_status ?? '' }),
      h('td', {}, h('span', { class: `status ${d.sl1_status}`, text: `${d.sl1_status}${d.sl1_http ? ` ${d.sl1_http}` : ''}` })),
      h('td', { text: d.attempts ?? '' }), h('td', { text: d.latency_ms != null ? `${d.latency_ms} ms` : '' }),
      h('td', { class: 'msg', text: d.error ? `${d.message || ''} — ${d.error}` : (d.message || '') }));
  }

  function draw() {
    const shown = [...rows.values()].filter(matches).sort((a, b) => b.time_ms - a.time_ms || String(b.id).localeCompare(String(a.id)));
    replace(body, shown.length ? shown.map(row) : h('tr', {}, h('td', { colspan: 9, class: 'muted', text: 'No delivery yet.' })));
  }

  async function open(id) {
    drawer.hidden = false;
    replace(drawer, h('p', { text: 'Loading…' }));
    try {
      const d = await api(`deliveries/${encodeURIComponent(id)}`);
      replace(drawer,
        h('div', { class: 'drawer-head' }, h('h2', { text: `${d.source} ${d.event || ''}` }),
          h('button', { type: 'button', class: 'secondary', text: 'Close', onclick: close })),
        h('p', {}, h('span', { class: `status ${d.sl1_status}`, text: d.sl1_status }), ` after ${d.attempts} attempt(s). `, d.message || ''),
        d.error ? h('p', { class: 'error', text: d.error }) : null,
        h('h3', { text: 'Headers (secrets masked)' }),
        h('table', { class: 'kv' }, h('tbody', {}, (d.headers || []).map(([k, v]) => h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { class: 'mono', text: v }))))),
        h('h3', { text: 'Payload' }), h('pre', { class: 'code small', text: typeof d.payload === 'string' ? d.payload : pretty(d.payload) }),
        h('h3', { text: 'SL1 body' }), h('pre', { class: 'code small', text: pretty(d.alert) }),
        h('h3', { text: 'SL1 attempts' }),
        h('table', {}, h('thead', {}, h('tr', {}, ['Time', 'Status', 'Latency', 'Error'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, (d.tries || []).map((t) => h('tr', {}, h('td', { text: time(t.time_ms) }), h('td', { text: t.status ?? '—' }),
            h('td', { text: t.latency_ms != null ? `${t.latency_ms} ms` : '' }), h('td', { text: t.error || '' }))))));
      drawer.focus();
    } catch (error) {
      replace(drawer, h('p', { class: 'error', text: error.message }), h('button', { type: 'button', text: 'Close', onclick: close }));
    }
  }

  function close() { drawer.hidden = true; }
  drawer.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
  for (const el of [source, status, text]) el.addEventListener('input', draw);

  api('deliveries', { query: { limit: 500 } })
    .then(({ deliveries = [] }) => { for (const d of deliveries) if (!rows.has(d.id)) rows.set(d.id, d); draw(); })
    .catch((error) => replace(body, h('tr', {}, h('td', { colspan: 9, class: 'error', text: error.message }))));

  const events = stream();
  events.addEventListener('open', () => { live.textContent = 'live'; live.className = 'pill on'; });
  events.addEventListener('error', () => { live.textContent = 'reconnecting…'; live.className = 'pill'; });
  events.addEventListener('delivery', (e) => {
    try { const d = JSON.parse(e.data); rows.set(d.id, d); draw(); } catch { /* a malformed event is skipped */ }
  });
  return () => events.close();
}
