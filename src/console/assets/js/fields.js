// The compact field list (`a{b{c}},d`, docs/mapping-language.md) as a tree, so that a clicked
// payload leaf merges into the groups already written; and the `$var$` a leaf is read by.

const PLAIN = /^[^{}.,[\]$\s=]+$/;

/** A field list parsed: `tree` (name → subtree, null for a whole value) and `extra` (JSONPath entries, kept verbatim). */
export function parse(text) {
  const list = { tree: new Map(), extra: [] };
  for (const item of splitTop(text || '')) {
    const trimmed = item.trim();
    if (!trimmed) continue;
    if (trimmed.includes('=')) { list.extra.push(trimmed); continue; }
    const parsed = parseItem(trimmed);
    if (parsed) merge(list.tree, parsed);
    else list.extra.push(trimmed);
  }
  return list;
}

function splitTop(text) {
  const items = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '{') depth += 1;
    if (ch === '}') depth -= 1;
    if (ch === ',' && depth === 0) { items.push(current); current = ''; } else current += ch;
  }
  items.push(current);
  return items;
}

// `name{group}{group}…` → a tree of one name, or null when it is not the compact form.
function parseItem(text) {
  const open = text.indexOf('{');
  const name = (open < 0 ? text : text.slice(0, open)).trim();
  if (!PLAIN.test(name)) return null;
  let sub = null;
  let rest = open < 0 ? '' : text.slice(open);
  while (rest) {
    if (rest[0] !== '{') return null;
    let depth = 0;
    let end = -1;
    for (let i = 0; i < rest.length; i += 1) {
      if (rest[i] === '{') depth += 1;
      if (rest[i] === '}') { depth -= 1; if (depth === 0) { end = i; break; } }
    }
    if (end < 0) return null;
    const group = new Map();
    for (const inner of splitTop(rest.slice(1, end))) {
      const parsed = inner.trim() && parseItem(inner.trim());
      if (!parsed) return null;
      merge(group, parsed);
    }
    sub = sub === null ? group : underLeaves(sub, group);
    rest = rest.slice(end + 1).trim();
  }
  return new Map([[name, sub]]);
}

// A chained group applies to every leaf of what is before it.
function underLeaves(tree, group) {
  const out = new Map();
  for (const [k, v] of tree) out.set(k, v === null ? clone(group) : underLeaves(v, group));
  return out;
}

function clone(tree) {
  return tree === null ? null : new Map([...tree].map(([k, v]) => [k, clone(v)]));
}

function merge(into, tree) {
  for (const [name, sub] of tree) {
    if (!into.has(name)) into.set(name, clone(sub));
    else if (into.get(name) === null || sub === null) into.set(name, null); // the whole value wins
    else merge(into.get(name), sub);
  }
}

/** Adds the path of names (`['a','b','c']`) to the list. */
export function add(list, names) {
  let tree = null;
  for (const name of [...names].reverse()) tree = new Map([[name, tree]]);
  if (tree) merge(list.tree, tree);
  return list;
}

/** The list written back: `a{b{c}},d` then the JSONPath entries. */
export function format(list) {
  const write = (tree) => [...tree].map(([k, v]) => (v === null ? k : `${k}{${write(v)}}`)).join(',');
  return [write(list.tree), ...list.extra].filter(Boolean).join(',');
}

/**
 * What clicking a leaf adds: `steps` is its path in the payload (strings for members, numbers
 * for array indexes). Returns `{names, variable}` for the compact form, or `{jsonpath, name,
 * variable}` when a member name cannot be written there (a dot, a brace, a space …).
 */
export function pick(steps) {
  const members = steps.filter((s) => typeof s === 'string');
  const compact = members.every((s) => PLAIN.test(s)) && typeof steps[0] === 'string';
  if (!compact) {
    const jsonpath = `$${steps.map((s) => (typeof s === 'number' ? `[${s}]` : `['${s.replace(/'/g, "\\'")}']`)).join('')}`;
    const base = String(members[members.length - 1] || 'value').replace(/[^A-Za-z0-9_-]/g, '_') || 'value';
    return { jsonpath, name: base, variable: `$${base}$` };
  }
  // Array elements are reached through their array's name: `commits{message}` covers every
  // element, the variable picks the clicked one (`$commits[2].message$`).
  let variable = '';
  for (const step of steps) {
    if (typeof step === 'number') variable += `[${step}]`;
    else variable += (variable ? '.' : '') + step;
  }
  return { names: members, variable: `$${variable}$` };
}

/** Adds a pick to a field-list text; the new text. */
export function addPick(text, picked) {
  const list = parse(text);
  if (picked.names) add(list, picked.names);
  else {
    const taken = new Set(list.extra.map((e) => e.split('=')[0]));
    const existing = list.extra.find((e) => e.endsWith(`=${picked.jsonpath}`));
    if (existing) picked.variable = `$${existing.split('=')[0]}$`;
    else {
      let name = picked.name;
      for (let n = 2; taken.has(name) || list.tree.has(name); n += 1) name = `${picked.name}${n}`;
      picked.variable = `$${name}$`;
      list.extra.push(`${name}=${picked.jsonpath}`);
    }
  }
  return format(list);
}
