// The console's field-list logic (src/console/assets/js/fields.js), without a browser: a clicked
// payload leaf merges into the compact `a{b{c}}` list as docs/mapping-language.md defines it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

// The file is an ES module served to the browser; no package.json above it says so to node, so
// it is imported from its text.
const source = readFileSync(new URL('../../src/console/assets/js/fields.js', import.meta.url), 'utf8');
const { addPick, format, parse, pick } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

test('a leaf merges into the groups already written', () => {
  let list = '';
  list = addPick(list, pick(['repository', 'full_name']));
  list = addPick(list, pick(['action']));
  list = addPick(list, pick(['repository', 'owner', 'login']));
  list = addPick(list, pick(['repository', 'full_name']));
  assert.equal(list, 'repository{full_name,owner{login}},action');
});

test('the whole value wins over its parts', () => {
  assert.equal(addPick('a{b},c', { names: ['a'] }), 'a,c');
  assert.equal(addPick('a,c', pick(['a', 'b'])), 'a,c');
});

test('array elements are reached through their array; the variable names the element clicked', () => {
  const picked = pick(['commits', 2, 'message']);
  assert.deepEqual(picked, { names: ['commits', 'message'], variable: '$commits[2].message$' });
  assert.equal(addPick('commits{id}', picked), 'commits{id,message}');
  assert.equal(pick(['labels', 0]).variable, '$labels[0]$');
});

test('chained groups and JSONPath entries are read and kept', () => {
  assert.equal(format(parse('a{b}{c,d},e')), 'a{b{c,d}},e');
  assert.equal(addPick('bug=$.issue.labels[0].name,x', pick(['y'])), 'x,y,bug=$.issue.labels[0].name');
});

test('a name the compact form cannot write becomes a named JSONPath field', () => {
  const picked = pick(['detail', 'instance.id']);
  const list = addPick('detail{state}', picked);
  assert.equal(list, "detail{state},instance_id=$['detail']['instance.id']");
  assert.equal(picked.variable, '$instance_id$');
  // Picked again: the same entry, the same variable.
  const again = pick(['detail', 'instance.id']);
  assert.equal(addPick(list, again), list);
  assert.equal(again.variable, '$instance_id$');
});
