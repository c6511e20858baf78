// A payload as a collapsible tree (native <details>, so keyboard-usable) with each value's type;
// every leaf is a button that reports its path.

import { h } from './dom.js';

function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array[${value.length}]`;
  return typeof value === 'object' ? `object{${Object.keys(value).length}}` : typeof value;
}

function label(steps) {
  return steps.map((s, i) => (typeof s === 'number' ? `[${s}]` : (i ? '.' : '') + s)).join('');
}

/** The tree of `value`; `onPick(steps)` is called with the path of a clicked leaf. */
export function jsonTree(value, onPick) {
  return h('div', { class: 'tree', role: 'tree' }, node(value, [], onPick, 0));
}

function node(value, steps, onPick, depth) {
  const key = steps.length ? String(steps[steps.length - 1]) : 'payload';
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const details = h('details', { open: depth < 1 },
      h('summary', {}, h('span', { class: 'key', text: key }), ' ', h('span', { class: 'type', text: typeOf(value) })));
    // Children are built on first opening: a big payload stays quick.
    let built = false;
    const build = () => {
      if (built) return;
      built = true;
      details.append(h('ul', {}, entries.map(([k, v]) => h('li', {}, node(v, [...steps, k], onPick, depth + 1)))));
    };
    if (depth < 1) build();
    details.addEventListener('toggle', build);
    return details;
  }
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
  return h('button', {
    type: 'button', class: 'leaf', 'data-path': label(steps),
    title: `Add ${label(steps)} to the fields and the message`,
    onclick: () => onPick(steps),
  }, h('span', { class: 'key', text: key }), ' ', h('span', { class: 'type', text: typeOf(value) }), ' ',
  h('span', { class: 'value', text: shown }));
}
