// Health at a glance (GET /admin/health): per-source counts and rates, queue, SL1 latency and
// circuit, and small SVG charts of the last hour; refreshed every 10 s while shown.

import { api } from './api.js';
import { h, replace } from './dom.js';

const CHARTS = [
  ['received', 'Received / min'], ['delivered', 'Delivered / min'], ['refused', 'Refused / min'],
  ['dead_lettered', 'Dead-lettered / min'], ['queue_depth', 'Queue depth'], ['latency_p95_ms', 'SL1 latency p95 (ms)'],
];

const pct = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '—');

export function render(main) {
  const box = h('div', { 'aria-live': 'polite' }, h('p', { text: 'Loading…' }));
  replace(main, h('h1', { text: 'Health' }), box);
  const load = async () => {
    try { draw(box, await api('health')); } catch (error) { replace(box, h('p', { class: 'error', role: 'alert', text: error.message })); }
  };
  load();
  const timer = setInterval(load, 10000);
  return () => clearInterval(timer);
}

function draw(box, health) {
  const { sources = [], queue = {}, sl1 = {}, series = {} } = health;
  const points = series.points || [];
  replace(box,
    h('div', { class: 'cards' },
      card('Queue depth', queue.depth ?? '—'), card('Dead letters', queue.dead_letters ?? '—'),
      card('SL1 circuit', sl1.circuit ?? '—', `circuit ${sl1.circuit}`),
      card('SL1 latency p50 / p95', `${sl1.latency_p50_ms ?? '—'} / ${sl1.latency_p95_ms ?? '—'} ms`)),
    h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {},
      ['Source', 'Received', 'Delivered', 'Dead-lettered', 'Refused', 'Error rate', 'Refusal rate'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, sources.length ? sources.map((s) => h('tr', {},
      h('th', { scope: 'row', text: s.source || '(none)' }), h('td', { text: s.received }), h('td', { text: s.delivered }),
      h('td', { text: s.dead_lettered }), h('td', { text: s.refused }),
      h('td', { text: pct(s.dead_lettered, s.delivered + s.dead_lettered) }),
      h('td', { text: pct(s.refused, s.received + s.refused) })))
      : h('tr', {}, h('td', { colspan: 7, class: 'muted', text: 'No traffic yet.' }))))),
    h('h2', { text: 'The last hour' }),
    h('div', { class: 'charts' }, CHARTS.map(([key, title]) => chart(title, points.map((p) => Number(p[key]) || 0), series.step_s || 60))));
}

function card(title, value, extra = '') {
  return h('div', { class: `card stat ${extra}` }, h('span', { class: 'label', text: title }), h('strong', { text: String(value) }));
}

// A bar chart of the values, newest on the right; its numbers are in its title and text.
function chart(title, values, step) {
  const width = 240;
  const height = 60;
  const max = Math.max(1, ...values);
  const bar = width / Math.max(values.length, 60);
  const svg = h('svg:svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', height, role: 'img', 'aria-label': `${title}: last ${values.at(-1) ?? 0}, max ${max}` },
    h('svg:line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }),
    values.map((v, i) => {
      const bh = (v / max) * (height - 4);
      return h('svg:rect', { x: width - (values.length - i) * bar, y: height - bh, width: Math.max(bar - 1, 1), height: bh, class: 'bar' },
        h('svg:title', { text: `${v} (${Math.round(((values.length - 1 - i) * step) / 60)} min ago)` }));
    }));
  return h('figure', { class: 'card chart' }, h('figcaption', {}, title, ' ', h('strong', { text: String(values.at(-1) ?? 0) })), svg);
}
