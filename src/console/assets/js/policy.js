// The SL1 event policy of a source (POST /admin/sl1/policy): fill the form, preview the exact
// request (a dry run: nothing sent), then create it.

import { api } from './api.js';
import { h, replace, field, toast } from './dom.js';

export function render(main) {
  const source = h('select', { required: true });
  const token = h('input', { type: 'text', autocomplete: 'off', placeholder: 'only for a source with several tokens' });
  const severity = h('select', {}, [[0, '0 Healthy'], [1, '1 Notice'], [2, '2 Minor'], [3, '3 Major'], [4, '4 Critical']]
    .map(([v, l]) => h('option', { value: v, text: l })));
  severity.value = '2';
  const preview = h('pre', { class: 'code small', id: 'policy-preview', 'aria-live': 'polite' });
  const mutation = h('pre', { class: 'code small', id: 'policy-mutation' });
  const result = h('p', { role: 'status', id: 'policy-result' });
  const create = h('button', { type: 'button', text: 'Create the policy in SL1', disabled: true });
  const body = (dryRun) => ({ source: source.value, token: token.value.trim() || undefined, severity: Number(severity.value), dry_run: dryRun });

  async function dryRun(event) {
    event.preventDefault();
    result.textContent = '';
    try {
      const answer = await api('sl1/policy', { method: 'POST', body: body(true) });
      const r = answer.request;
      const headers = Object.entries(r.headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
      // The request as sent (its body is one line of JSON), then its mutation laid out to read.
      preview.textContent = `${r.method} ${r.url ?? '(no SL1 URL configured)'}\n${headers}\n\n${JSON.stringify(r.body)}`;
      mutation.textContent = r.body.query || '';
      create.disabled = false;
      create.focus();
    } catch (error) {
      preview.textContent = '';
      mutation.textContent = '';
      create.disabled = true;
      result.textContent = error.message;
      result.className = 'error';
    }
  }

  async function send() {
    try {
      const answer = await api('sl1/policy', { method: 'POST', body: body(false) });
      result.textContent = `Created ${answer.name} in SL1 (id ${answer.id}).`;
      result.className = 'ok';
      toast(result.textContent);
    } catch (error) {
      result.textContent = `Not created: ${error.message}`;
      result.className = 'error';
    }
  }

  for (const el of [source, token, severity]) el.addEventListener('input', () => { create.disabled = true; });
  create.addEventListener('click', send);
  replace(main, h('h1', { text: 'SL1 event policy' }),
    h('p', { text: 'Creates the event policy that turns a source\'s alerts into SL1 events (GENHOOK_<source>), matched on the source\'s message prefix and token. Preview the exact request first: nothing is sent until you create it.' }),
    h('form', { class: 'card narrow', onsubmit: dryRun },
      field('p-source', 'Source', source), field('p-token', 'Token', token), field('p-severity', 'Severity', severity),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', text: 'Preview the request' }), create)),
    result, h('h2', { text: 'The request' }), preview, h('h3', { text: 'Its mutation' }), mutation);
  api('mappings').then(({ mappings = [] }) => {
    const names = [...new Set(mappings.flatMap((m) => m.sources || []))].sort();
    replace(source, names.map((n) => h('option', { value: n, text: n })));
  }).catch((error) => toast(error.message, 'error'));
}
