// The mapping editor: a form that writes a new mapping file (builder), or the text of an
// existing one; a sample payload as a tree whose leaves add fields and `$var$`s; the live
// preview through POST /admin/render; save through PUT /admin/mappings/{name}.

import { api, ApiError } from './api.js';
import { h, replace, field, debounce, toast, pretty } from './dom.js';
import { jsonTree } from './tree.js';
import { addPick, pick } from './fields.js';
import { SCHEMES, needsSecret, recipe } from './recipes.js';

const NAME = /^[a-z0-9_-]+$/;

/**
 * The editor in `main`: `text` null for a new mapping (the form), else the file's text;
 * `sample` the sample payload and preview headers to start with (what the form had when it
 * was switched to text).
 */
export function editor(main, { name = '', text = null, sample = null } = {}) {
  const state = { payload: undefined, headers: {}, lines: [], mode: text === null ? 'form' : 'text' };
  const input = (props = {}) => h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...props });
  const f = {
    name: input({ value: name, required: true, pattern: '[a-z0-9_\\-]+', readonly: text !== null }),
    source: input({ value: name, required: true }),
    verify: h('select', {}, SCHEMES.map(([v, l]) => h('option', { value: v, text: l }))),
    secret: input({ placeholder: 'GENHOOK_GITHUB_SECRET' }),
    eventFrom: input({ placeholder: 'header:X-GitHub-Event (default: the provider\'s own)' }),
    key: input({ value: '*' }),
    fields: input({ placeholder: 'action,repository{full_name}' }),
    message: h('textarea', { rows: 3, spellcheck: 'false', placeholder: 'GitHub $action$ in $repository.full_name$' }),
    align: input({ placeholder: 'org:42 or device:7' }),
    priority: h('select', {}, [['', 'normal'], ['high', 'high'], ['low', 'low']].map(([v, l]) => h('option', { value: v, text: l }))),
    rate: input({ placeholder: '50/s (empty: no limit)' }),
    token: input({ placeholder: 'none: served at /webhook/SOURCE' }),
    text: h('textarea', { rows: 18, spellcheck: 'false', class: 'code', value: text || '' }),
  };
  const diagnosticsOf = {};
  const hintFor = (key) => { diagnosticsOf[key] = h('p', { class: 'diag', role: 'alert' }); return diagnosticsOf[key]; };
  const out = {
    message: h('output', { class: 'message', 'aria-live': 'polite', id: 'preview-message' }),
    alert: h('pre', { class: 'code small' }),
    problem: h('p', { class: 'error', role: 'alert', id: 'preview-error' }),
    file: h('ol', { class: 'file', 'aria-label': 'Generated file and its problems' }),
    saved: h('section', { class: 'saved', 'aria-live': 'polite' }),
    recent: h('select', {}, h('option', { value: '', text: 'pick a recent delivery…' })),
  };
  const payloadText = h('textarea', { rows: 8, spellcheck: 'false', class: 'code', placeholder: 'Paste a sample JSON payload' });
  const upload = h('input', { type: 'file', accept: '.json,application/json' });
  const treeBox = h('div', { class: 'tree-box' }, h('p', { class: 'muted', text: 'The payload\'s tree shows here: click a value to use it.' }));
  const headersText = input({ placeholder: 'X-GitHub-Event: push' });

  // The file the form writes, and which input each line came from (for diagnostics).
  function generate() {
    const source = f.source.value.trim();
    const lines = [[`[${source}]`, 'source']];
    if (f.verify.value !== 'none') lines.push([`verify = ${f.verify.value}`, 'verify']);
    if (needsSecret(f.verify.value) && f.secret.value.trim()) lines.push([`secret = \${${f.secret.value.trim()}}`, 'secret']);
    if (f.eventFrom.value.trim()) lines.push([`event = ${f.eventFrom.value.trim()}`, 'eventFrom']);
    if (f.align.value.trim()) lines.push([`align = ${f.align.value.trim()}`, 'align']);
    if (f.priority.value) lines.push([`priority = ${f.priority.value}`, 'priority']);
    if (f.rate.value.trim()) lines.push([`rate_limit = ${f.rate.value.trim()}`, 'rate']);
    if (f.token.value.trim()) lines.push([`token = ${f.token.value.trim()}`, 'token']);
    const message = f.message.value.replace(/\s*\n\s*/g, ' ');
    lines.push([`${f.key.value.trim() || '*'}: ${f.fields.value.trim()}::${message}`, 'message']);
    state.lines = lines;
    return `${lines.map(([l]) => l).join('\n')}\n`;
  }

  const fileText = () => (state.mode === 'form' ? generate() : f.text.value);
  const sourceName = () => {
    if (state.mode === 'form') return f.source.value.trim();
    const section = /^\s*\[([^\]]+)\]/m.exec(f.text.value);
    return section ? section[1].trim() : (f.name.value.trim());
  };
  const scheme = () => (state.mode === 'form' ? f.verify.value : ((/^\s*verify\s*[=:]\s*([\w-]+)/m.exec(f.text.value) || [])[1] || 'none'));

  function showFile(diagnostics = []) {
    for (const el of Object.values(diagnosticsOf)) el.textContent = '';
    const own = diagnostics.filter((d) => !d.file);
    // A problem in another file of the directory (say, the same source defined twice).
    const others = diagnostics.filter((d) => d.file).map((d) => h('li', { class: d.severity === 'warning' ? 'warn' : 'bad' },
      h('span', { class: 'diag', text: `${d.file}:${d.line}: ${d.message}` })));
    if (state.mode === 'form') {
      replace(out.file, state.lines.map(([line, key], i) => {
        const problems = own.filter((d) => d.line === i + 1);
        const errors = problems.filter((d) => d.severity !== 'warning');
        if (errors.length && diagnosticsOf[key]) diagnosticsOf[key].textContent = errors.map((d) => d.message).join('; ');
        return h('li', { class: errors.length ? 'bad' : (problems.length ? 'warn' : '') }, h('code', { text: line }),
          problems.map((d) => h('span', { class: d.severity === 'warning' ? 'warning' : 'diag', text: `line ${i + 1}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}` })));
      }), others);
    } else {
      replace(out.file, own.map((d) => h('li', { class: d.severity === 'warning' ? 'warn' : 'bad' },
        h('button', { type: 'button', class: 'link', text: `line ${d.line}`, onclick: () => goToLine(d.line) }),
        h('span', { class: d.severity === 'warning' ? 'warning' : 'diag', text: ` ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}` }))), others);
    }
  }

  function goToLine(n) {
    const lines = f.text.value.split('\n');
    const start = lines.slice(0, n - 1).reduce((a, l) => a + l.length + 1, 0);
    f.text.focus();
    f.text.setSelectionRange(start, start + (lines[n - 1] || '').length);
  }

  function headersObject() {
    const headers = { ...state.headers };
    for (const part of headersText.value.split(/;|\n/)) {
      const at = part.indexOf(':');
      if (at > 0) headers[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    }
    return headers;
  }

  async function render() {
    const text = fileText();
    if (state.mode === 'form') showFile();
    if (state.payload === undefined) { out.problem.textContent = 'Add a sample payload to see the message.'; return; }
    const key = state.mode === 'form' ? f.key.value.trim() : '';
    const body = { source: sourceName(), mapping: text, headers: headersObject(), payload: state.payload };
    if (key && !key.includes('*')) body.event = key;
    try {
      const answer = await api('render', { method: 'POST', body });
      out.message.textContent = answer.message;
      out.alert.textContent = pretty(answer.alert);
      out.problem.textContent = '';
      showFile();
    } catch (error) {
      out.message.textContent = '';
      out.alert.textContent = '';
      out.problem.textContent = error.message;
      showFile(error instanceof ApiError ? error.body.diagnostics || [] : []);
    }
  }
  const later = debounce(render, 300);

  function setPayload(raw) {
    payloadText.value = raw;
    onPayloadText();
  }

  function onPayloadText() {
    const raw = payloadText.value;
    if (!raw.trim()) { state.payload = undefined; return; }
    try {
      const value = JSON.parse(raw);
      state.payload = value;
      replace(treeBox, jsonTree(value, onPick));
    } catch {
      state.payload = raw; // a form body or other text: the server parses it as the provider would
      replace(treeBox, h('p', { class: 'muted', text: 'Not JSON: sent as the raw body; no tree.' }));
    }
    later();
  }

  // A leaf clicked: its field into the list, its `$var$` at the cursor.
  function onPick(steps) {
    const picked = pick(steps);
    if (state.mode === 'form') {
      f.fields.value = addPick(f.fields.value, picked);
      insertAt(f.message, picked.variable);
    } else {
      pickIntoText(picked);
    }
    later();
  }

  function insertAt(area, text) {
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.selectionStart = area.selectionEnd = start + text.length;
  }

  // Text mode: the line under the cursor, when a mapping line, gets the field too.
  function pickIntoText(picked) {
    const value = f.text.value;
    const at = f.text.selectionStart ?? value.length;
    const lineStart = value.lastIndexOf('\n', at - 1) + 1;
    const lineEnd = value.indexOf('\n', at) < 0 ? value.length : value.indexOf('\n', at);
    const line = value.slice(lineStart, lineEnd);
    const split = line.indexOf('::');
    if (split < 0 || at - lineStart <= split) { insertAt(f.text, picked.variable); return; }
    const head = line.slice(0, split);
    const sep = head.lastIndexOf(': ') >= 0 ? head.lastIndexOf(': ') + 2 : head.lastIndexOf('=') + 1;
    const fields = addPick(head.slice(sep), picked);
    const newLine = `${head.slice(0, sep)}${fields}${line.slice(split)}`;
    const delta = newLine.length - line.length;
    f.text.value = value.slice(0, lineStart) + newLine + value.slice(lineEnd);
    f.text.selectionStart = f.text.selectionEnd = at + delta;
    insertAt(f.text, picked.variable);
  }

  async function loadRecent() {
    const source = sourceName();
    replace(out.recent, h('option', { value: '', text: 'pick a recent delivery…' }));
    if (!source) return;
    try {
      const { deliveries = [] } = await api('deliveries', { query: { source, limit: 20 } });
      for (const d of deliveries) out.recent.append(h('option', { value: d.id, text: `${d.event || '?'} · ${new Date(d.time_ms).toLocaleString()}` }));
    } catch { /* no record yet: the list stays empty */ }
  }

  async function useRecent() {
    if (!out.recent.value) return;
    try {
      const detail = await api(`deliveries/${encodeURIComponent(out.recent.value)}`);
      state.headers = Object.fromEntries(detail.headers || []);
      setPayload(typeof detail.payload === 'string' ? detail.payload : pretty(detail.payload));
      if (state.mode === 'form' && detail.event && f.key.value.trim() === '*') f.key.value = detail.event;
    } catch (error) { toast(error.message, 'error'); }
  }

  async function generateToken() {
    try { f.token.value = (await api('token', { method: 'POST' })).token; later(); } catch (error) { toast(error.message, 'error'); }
  }

  async function save(event) {
    event.preventDefault();
    const fileName = f.name.value.trim() || sourceName();
    if (!NAME.test(fileName)) { toast('The file name must be lower-case letters, digits, - or _.', 'error'); f.name.focus(); return; }
    try {
      const answer = await api(`mappings/${encodeURIComponent(fileName)}`, { method: 'PUT', body: { text: fileText() } });
      f.name.value = fileName;
      f.name.readOnly = true;
      showFile();
      replace(out.saved, h('h3', { text: `Saved ${answer.name}.ini` }),
        h('p', { text: 'Webhook URL' + ((answer.urls || []).length > 1 ? 's' : '') + ':' }),
        (answer.urls || []).map((url) => h('p', {}, h('code', { class: 'url', text: url }))),
        h('h4', { text: 'Set-up' }), h('ol', {}, recipe(scheme()).map((step) => h('li', { text: step }))));
      out.saved.focus();
      toast(`Saved ${answer.name}.ini; the server reloaded it.`);
    } catch (error) {
      toast(`Not saved: ${error.message}`, 'error');
      showFile(error instanceof ApiError ? error.body.diagnostics || [] : []);
    }
  }

  for (const el of Object.values(f)) el.addEventListener('input', later);
  f.source.addEventListener('input', () => { if (!f.name.readOnly) f.name.value = f.source.value.trim().toLowerCase(); });
  f.source.addEventListener('change', loadRecent);
  f.verify.addEventListener('change', () => { secretBox.hidden = !needsSecret(f.verify.value); });
  payloadText.addEventListener('input', onPayloadText);
  upload.addEventListener('change', async () => { if (upload.files[0]) setPayload(await upload.files[0].text()); });
  out.recent.addEventListener('change', useRecent);
  headersText.addEventListener('input', later);
  out.saved.tabIndex = -1;

  const secretBox = field('m-secret', 'Secret variable (read from the environment)', f.secret, 'Written as secret = ${NAME}; the secret itself never goes in the file.');
  secretBox.hidden = true;
  const form = state.mode === 'form'
    ? h('fieldset', {}, h('legend', { text: 'Mapping' }),
      field('m-source', 'Source name', f.source, 'The {source} of /webhook/{source}'),
      field('m-name', 'File name (NAME.ini)', f.name),
      field('m-verify', 'Verify scheme', f.verify), secretBox,
      field('m-event-from', 'Event type from', f.eventFrom), hintFor('eventFrom'),
      field('m-key', 'Event (line key: an event type, a glob, or *)', f.key),
      field('m-fields', 'Fields', f.fields, 'Compact form: a{b{c}},d — click the payload\'s values to add them'),
      field('m-message', 'Message', f.message, 'Use $field$ for a value; click a payload value to insert it at the cursor'), hintFor('message'),
      h('div', { class: 'row' },
        h('div', {}, field('m-align', 'Align', f.align), hintFor('align')),
        h('div', {}, field('m-priority', 'Priority', f.priority)),
        h('div', {}, field('m-rate', 'Rate limit', f.rate), hintFor('rate'))),
      h('div', { class: 'row' }, h('div', {}, field('m-token', 'URL token', f.token), hintFor('token')),
        h('button', { type: 'button', class: 'secondary', text: 'Generate token', onclick: generateToken })),
      h('button', { type: 'button', class: 'link', text: 'Edit as text', onclick: () => { f.text.value = generate(); state.mode = 'text'; rebuild(); } }))
    : h('fieldset', {}, h('legend', { text: `${f.name.value}.ini` }),
      field('m-text', 'Mapping file', f.text, 'Click a payload value to add it to the mapping line under the cursor'));

  // The switch to text keeps the sample, so the preview goes on following the edits.
  function rebuild() {
    editor(main, { name: f.name.value, text: f.text.value, sample: { payload: payloadText.value, headers: headersText.value, picked: state.headers } });
  }

  replace(main,
    h('h1', { text: text === null ? 'New mapping' : `Mapping ${name}` }),
    h('form', { class: 'builder', onsubmit: save },
      h('div', { class: 'col' }, form,
        h('section', { class: 'preview', 'aria-labelledby': 'preview-h' },
          h('h2', { id: 'preview-h', text: 'Live preview' }),
          h('p', { class: 'label', text: 'Message' }), out.message, out.problem,
          h('details', {}, h('summary', { text: 'SL1 alert body' }), out.alert),
          h('h3', { text: 'File and problems' }), out.file),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Save mapping' }),
          h('a', { href: '#/mappings', class: 'button secondary', text: 'Back to the list' })),
        out.saved),
      h('div', { class: 'col' },
        h('fieldset', {}, h('legend', { text: 'Sample payload' }),
          field('m-payload', 'Paste a payload', payloadText),
          field('m-upload', 'or upload a file', upload),
          field('m-recent', 'or pick a recent delivery', out.recent),
          field('m-headers', 'Headers for the preview (Name: value; …)', headersText)),
        treeBox)));
  loadRecent();
  if (sample) {
    state.headers = sample.picked;
    headersText.value = sample.headers;
    if (sample.payload.trim()) setPayload(sample.payload);
  }
  if (text !== null) later();
}
