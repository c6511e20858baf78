// Refused requests: why a provider's call was not taken (bad signature, unknown source or token,
// unmapped event, too large, ignored), with its masked headers and payload; new ones arrive live.

import { api, stream } from './api.js';
import { h, replace, time } from './dom.js';

export function render(main) {
  const rows = new Map();
  const source = h('input', { type: 'search', id: 'r-source', autocomplete: 'off' });
  const reason = h('input', { type: 'search', id: 'r-reason', autocomplete: 'off' });
  const body = h('tbody');
  const detail = h('aside', { class: 'drawer', hidden: true, 'aria-label': 'Refused request detail', tabindex: '-1' });
  replace(main, h('h1', { text: 'Refused requests' }),
    h('div', { class: 'filters', role: 'search' },
      h('label', { for: 'r-source', text: 'Source' }), source, h('label', { for: 'r-reason', text: 'Reason' }), reason),
    h('div', { class: 'scroll' }, h('table', { class: 'refused' },
      h('thead', {}, h('tr', {}, ['Time', 'Source', 'Reason', 'HTTP', 'Client'].map((t) => h('th', { scope: 'col', text: t })))), body)),
    detail);

  const draw = () => {
    const shown = [...rows.values()]
      .filter((r) => (!source.value || r.source === source.value.trim()) && (!reason.value || r.reason.includes(reason.value.trim())))
      .sort((a, b) => b.id - a.id);
    replace(body, shown.length ? shown.map((r) => h('tr', { 'data-id': r.id, 'data-reason': r.reason },
      h('td', {}, h('button', { type: 'button', class: 'link', text: time(r.time_ms), 'aria-label': `Open refused request ${r.id}`, onclick: () => open(r.id) })),
      h('td', { text: r.source || '(none)' }), h('td', {}, h('span', { class: 'status refused', text: r.reason })),
      h('td', { text: r.status }), h('td', { class: 'mono', text: r.client || '' })))
      : h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'Nothing refused.' })));
  };

  async function open(id) {
    detail.hidden = false;
    try {
      const r = await api(`requests/${id}`);
      replace(detail,
        h('div', { class: 'drawer-head' }, h('h2', { text: `${r.reason} (${r.status})` }),
          h('button', { type: 'button', class: 'secondary', text: 'Close', onclick: () => { detail.hidden = true; } })),
        h('p', { text: `${r.source || 'no source'} · ${time(r.time_ms)} · ${r.client || ''}` }),
        h('h3', { text: 'Headers (secrets masked)' }),
        h('table', { class: 'kv' }, h('tbody', {}, (r.headers || []).map(([k, v]) => h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { class: 'mono', text: v }))))),
        h('h3', { text: 'Payload' }), h('pre', { class: 'code small', text: r.payload ?? (r.payload_note || 'not kept') }));
      detail.focus();
    } catch (error) { replace(detail, h('p', { class: 'error', text: error.message })); }
  }
  detail.addEventListener('keydown', (e) => { if (e.key === 'Escape') detail.hidden = true; });
  for (const el of [source, reason]) el.addEventListener('input', draw);

  api('requests', { query: { limit: 500 } })
    .then(({ requests = [] }) => { for (const r of requests) rows.set(r.id, r); draw(); })
    .catch((error) => replace(body, h('tr', {}, h('td', { colspan: 5, class: 'error', text: error.message }))));
  const events = stream();
  events.addEventListener('refused', (e) => {
    try { const r = JSON.parse(e.data); rows.set(r.id, r); draw(); } catch { /* skipped */ }
  });
  return () => events.close();
}
