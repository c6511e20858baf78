// Dead letters: the same API as `genhook dlq` — list by filter, inspect, replay one, replay all
// matching, purge (after a confirmation).

import { api } from './api.js';
import { h, replace, time, toast, pretty, confirmDialog } from './dom.js';

export function render(main) {
  const source = h('input', { type: 'search', id: 'q-source', autocomplete: 'off' });
  const event = h('input', { type: 'search', id: 'q-event', autocomplete: 'off' });
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const body = h('tbody');
  const detail = h('aside', { class: 'drawer', hidden: true, 'aria-label': 'Dead letter detail', tabindex: '-1' });
  const filter = () => ({ source: source.value.trim(), event: event.value.trim() });

  async function load() {
    try {
      const answer = await api('dlq', { query: { ...filter(), limit: 500 } });
      count.textContent = `${answer.count} shown of ${answer.total ?? answer.count}`;
      replace(body, answer.dead_letters.length ? answer.dead_letters.map((d) => h('tr', { 'data-id': d.id },
        h('td', {}, h('button', { type: 'button', class: 'link', text: time(d.dead_at_ms), 'aria-label': `Inspect dead letter ${d.id}`, onclick: () => open(d.id) })),
        h('td', { text: d.source }), h('td', { text: d.event || '' }), h('td', { text: d.attempts }),
        h('td', { class: 'msg', text: d.render_error || d.last_error || '' }),
        h('td', {}, h('button', { type: 'button', class: 'small', text: 'Replay', 'aria-label': `Replay dead letter ${d.id}`, onclick: () => replay(d.id) }))))
        : h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'No dead letter.' })));
    } catch (error) { replace(body, h('tr', {}, h('td', { colspan: 6, class: 'error', text: error.message }))); }
  }

  async function open(id) {
    detail.hidden = false;
    try {
      const d = await api(`dlq/${encodeURIComponent(id)}`);
      replace(detail, h('div', { class: 'drawer-head' }, h('h2', { text: `Dead letter ${id}` }),
        h('button', { type: 'button', class: 'secondary', text: 'Close', onclick: () => { detail.hidden = true; } })),
      h('pre', { class: 'code small', text: pretty(d) }));
      detail.focus();
    } catch (error) { replace(detail, h('p', { class: 'error', text: error.message })); }
  }

  async function replay(id) {
    try {
      await api(`dlq/${encodeURIComponent(id)}/replay`, { method: 'POST' });
      toast(`Dead letter ${id} queued again.`);
    } catch (error) { toast(`Not replayed: ${error.message}`, 'error'); }
    load();
  }

  async function replayAll() {
    if (!(await confirmDialog(`Replay every dead letter matching ${describe()}?`, 'Replay all'))) return;
    try {
      const answer = await api('dlq/replay', { method: 'POST', query: filter() });
      toast(`${answer.replayed} replayed, ${answer.failed.length} failed.`, answer.failed.length ? 'error' : 'info');
    } catch (error) { toast(error.message, 'error'); }
    load();
  }

  async function purge() {
    if (!(await confirmDialog(`Delete every dead letter matching ${describe()}? They cannot be replayed afterwards.`, 'Purge'))) return;
    try {
      const answer = await api('dlq', { method: 'DELETE', query: filter() });
      toast(`${answer.purged} dead letter(s) purged.`);
    } catch (error) { toast(error.message, 'error'); }
    load();
  }

  const describe = () => {
    const { source: s, event: e } = filter();
    return s || e ? [s && `source ${s}`, e && `event ${e}`].filter(Boolean).join(' and ') : 'no filter (all of them)';
  };

  replace(main, h('h1', {}, 'Dead letters ', count),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('label', { for: 'q-source', text: 'Source' }), source, h('label', { for: 'q-event', text: 'Event' }), event,
      h('button', { type: 'submit', class: 'secondary', text: 'Filter' }),
      h('button', { type: 'button', text: 'Replay all matching', onclick: replayAll }),
      h('button', { type: 'button', class: 'danger', text: 'Purge matching', onclick: purge })),
    h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {},
      ['Dead since', 'Source', 'Event', 'Tries', 'Last error', ''].map((t) => h('th', { scope: 'col', text: t })))), body)),
    detail);
  detail.addEventListener('keydown', (e) => { if (e.key === 'Escape') detail.hidden = true; });
  load();
}
