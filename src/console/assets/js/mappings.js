// Mappings: the files of mappings_dir (list, open, delete) and the editor (builder.js).

import { api } from './api.js';
import { h, replace, toast, confirmDialog } from './dom.js';
import { editor } from './builder.js';

/** #/mappings, #/mappings/new, #/mappings/edit/NAME */
export function render(main, [action, name]) {
  if (action === 'new') return editor(main, {});
  if (action === 'edit' && name) return open(main, name);
  return list(main);
}

async function open(main, name) {
  replace(main, h('p', { text: `Loading ${name}…` }));
  try {
    const mapping = await api(`mappings/${encodeURIComponent(name)}`);
    editor(main, { name: mapping.name, text: mapping.text });
  } catch (error) {
    replace(main, h('p', { class: 'error', role: 'alert', text: error.message }), h('a', { href: '#/mappings', text: 'Back to the mappings' }));
  }
}

async function list(main) {
  const body = h('tbody');
  replace(main, h('h1', { text: 'Mappings' }),
    h('p', {}, 'The files of the server\'s mappings directory. ', h('a', { href: '#/mappings/new', class: 'button', text: 'New mapping' })),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['File', 'Sources', 'URL paths', ''].map((t) => h('th', { scope: 'col', text: t })))), body)));
  try {
    const { mappings = [] } = await api('mappings');
    if (!mappings.length) body.append(h('tr', {}, h('td', { colspan: 4, text: 'No mapping yet.' })));
    if (mappings.some((m) => m.built_in)) {
      main.insertBefore(h('p', { class: 'hint', text: 'These are the mappings built into GenHook: the server has no mappings directory yet. Saving a mapping creates it, holding these beside yours.' }), main.querySelector('.scroll'));
    }
    for (const m of mappings) {
      body.append(h('tr', {},
        h('td', {}, h('a', { href: `#/mappings/edit/${encodeURIComponent(m.name)}`, text: `${m.name}.ini` }), m.built_in ? ' (built in)' : ''),
        h('td', { text: (m.sources || []).join(', ') }),
        h('td', {}, (m.url_paths || []).map((p) => h('code', { class: 'block', text: p }))),
        h('td', {}, m.built_in ? '' : h('button', { type: 'button', class: 'danger small', text: 'Delete', 'aria-label': `Delete ${m.name}.ini`, onclick: () => remove(main, m.name) }))));
    }
  } catch (error) {
    body.append(h('tr', {}, h('td', { colspan: 4, class: 'error', text: error.message })));
  }
}

async function remove(main, name) {
  if (!(await confirmDialog(`Delete ${name}.ini? Its sources stop being served at once.`, 'Delete'))) return;
  try {
    await api(`mappings/${encodeURIComponent(name)}`, { method: 'DELETE' });
    toast(`Deleted ${name}.ini.`);
    list(main);
  } catch (error) { toast(error.message, 'error'); }
}
