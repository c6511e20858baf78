// The console end to end in real headless Chromium: sign in, build a GitHub mapping by clicking
// a real payload's fields, save, post signed webhooks to the shown URL, watch them live, see a
// refusal with its reason, filter the live and refused lists by text, switch the builder to text
// and edit it with the preview following, replay a dead letter, create the SL1 event policy
// against a GraphQL mock; no console error on the way; keyboard-only sign-in; a phone-width
// screenshot.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import { chromium } from 'playwright-core';
import { mock, startGenHook } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = join(ROOT, 'target', 'console-screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BIN = process.env.GENHOOK_BIN || join(ROOT, 'target', 'debug', 'genhook');
const ADMIN = 'console-admin-token-0123456789';
const SECRET = 'It\'s a Secret to Everybody';
const PUSH = readFileSync(join(ROOT, 'tests', 'fixtures', 'github', 'push.json'), 'utf8');
const FAIL_MARK = 'FAIL-ME-PLEASE';
const STATUS_TEXT = { 401: 'Unauthorized', 422: 'Unprocessable Entity' };

const missing = !existsSync(CHROMIUM) ? `no chromium at ${CHROMIUM}` : (!existsSync(BIN) ? `no genhook binary at ${BIN}` : null);
if (missing && process.env.CI === 'true') throw new Error(`${missing} (CI=true: the browser tests must run)`);
if (missing) console.log(`skipped: ${missing}`);

let sl1; let graphql; let genhook; let browser; let page;
let acceptMarked = false;
const errors = [];
let shot = 0;
let webhookUrl;

async function screenshot(name, target = page) {
  shot += 1;
  await target.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

// Chromium logs every non-2xx answer as a console error: the statuses a step provokes on purpose
// (a wrong token, a broken template) are allowed during that step only.
let allowed = [];
function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (allowed.some((status) => text === `Failed to load resource: the server responded with a status of ${status} (${STATUS_TEXT[status]})`)) return;
    errors.push(`${p.url()}: ${text}`);
  });
  p.on('pageerror', (error) => errors.push(`${p.url()}: ${error.message}`));
}

async function signIn(p) {
  await p.goto(`${genhook.base}/console`);
  await p.getByLabel('Admin token').fill(ADMIN);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('navigation', { name: 'Console pages' }).waitFor();
}

async function postPush(body, { signature, delivery = randomUUID() } = {}) {
  return fetch(webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery,
      'x-hub-signature-256': signature ?? await sign(SECRET, body),
      'user-agent': 'GitHub-Hookshot/test',
    },
    body,
  });
}

before(async () => {
  if (missing) return;
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  sl1 = await mock((req) => (req.body.includes(FAIL_MARK) && !acceptMarked
    ? [400, { error: 'rejected by the mock' }] : [201, { id: 'alert-1' }]));
  graphql = await mock(() => [200, { data: { eventPolicyCreate: { id: '77' } } }]);
  genhook = await startGenHook({
    bin: BIN,
    mappings: { 'stripe.ini': join(ROOT, 'mappings', 'stripe.ini') },
    env: { GENHOOK_GITHUB_SECRET: SECRET },
    settings: {
      admin_token: ADMIN, sl1_api_url: `${sl1.url}/api/alert`, sl1_graphql_url: `${graphql.url}/gql`,
      sl1_username: 'em7admin', sl1_password: 'em7pass', sl1_timeout: '2s', reload: 'false',
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(15000);
  page = await context.newPage();
  watch(page);
});

after(async () => {
  await browser?.close();
  await genhook?.stop();
  await sl1?.close();
  await graphql?.close();
});

test('the console end to end', { skip: missing || false, timeout: 150000 }, async (t) => {
  await t.test('the console is served with its security headers', async () => {
    const answer = await fetch(`${genhook.base}/console`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-security-policy'), /script-src 'self'/);
    assert.equal(answer.headers.get('x-frame-options'), 'DENY');
    assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
    const js = await fetch(`${genhook.base}/console/js/main.js`);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
    const api = await fetch(`${genhook.base}/admin/dlq`);
    assert.equal(api.status, 401, 'the admin API needs the token');
  });

  await t.test('sign in', async () => {
    await page.goto(`${genhook.base}/console`);
    allowed = [401];
    await page.getByLabel('Admin token').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was refused.').waitFor();
    allowed = [];
    await page.getByLabel('Admin token').fill(ADMIN);
    await screenshot('sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Mappings' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('genhook.adminToken')), ADMIN);
    assert.equal(await page.evaluate(() => document.cookie), '');
  });

  await t.test('build a GitHub mapping by clicking fields, with a live preview', async () => {
    await page.getByRole('link', { name: 'New mapping' }).click();
    await page.getByLabel('Source name').fill('github');
    await page.getByLabel('Verify scheme').selectOption('github');
    await page.getByLabel('Secret variable (read from the environment)').fill('GENHOOK_GITHUB_SECRET');
    await page.getByLabel('Event (line key: an event type, a glob, or *)').fill('push');
    await page.getByLabel('Paste a payload').fill(PUSH);
    const message = page.getByLabel('Message', { exact: true });
    await message.fill('GitHub push in ');
    await page.locator('.tree summary', { hasText: 'repository' }).first().click();
    await page.locator('button.leaf[data-path="repository.full_name"]').click();
    await message.press('End');
    await message.pressSequentially(' to ');
    await page.locator('button.leaf[data-path="ref"]').click();
    await message.press('End');
    await message.pressSequentially(': ');
    await page.locator('.tree summary', { hasText: 'head_commit' }).first().click();
    await page.locator('button.leaf[data-path="head_commit.message"]').click();
    assert.equal(await page.getByLabel('Fields', { exact: true }).inputValue(), 'repository{full_name},ref,head_commit{message}');
    assert.equal(await message.inputValue(), 'GitHub push in $repository.full_name$ to $ref$: $head_commit.message$');
    await page.locator('#preview-message', { hasText: 'GitHub push in Codertocat/Hello-World to refs/heads/master: ' }).waitFor();
    // A broken template shows its problem at its line.
    await message.press('End');
    allowed = [422];
    await message.pressSequentially(' $nope$');
    await page.locator('ol.file li.bad', { hasText: 'nope' }).waitFor();
    await screenshot('builder-problem');
    for (let i = 0; i < 7; i += 1) await message.press('Backspace');
    await page.locator('ol.file li.bad').waitFor({ state: 'detached' });
    // So does a bad setting, under its own field.
    await page.getByLabel('Rate limit').fill('fast');
    await page.locator('ol.file li.bad', { hasText: 'rate_limit = fast' }).waitFor();
    assert.notEqual(await page.locator('#m-rate + p.diag, .row p.diag').filter({ hasText: /\S/ }).count(), 0);
    await page.getByLabel('Rate limit').fill('50/s');
    await page.getByLabel('Align').fill('org:42');
    await page.getByLabel('Priority').selectOption('high');
    await page.locator('ol.file li.bad').waitFor({ state: 'detached' });
    allowed = [];
    await page.getByRole('button', { name: 'Generate token' }).click();
    await page.waitForFunction(() => document.getElementById('m-token').value.length === 32);
    await page.locator('#preview-message', { hasText: 'GitHub push in Codertocat/Hello-World' }).waitFor();
    await screenshot('builder');
  });

  await t.test('save shows the webhook URL and the recipe', async () => {
    await page.getByRole('button', { name: 'Save mapping' }).click();
    const url = page.locator('.saved code.url');
    await url.waitFor();
    webhookUrl = await url.textContent();
    const token = await page.locator('#m-token').inputValue();
    assert.equal(webhookUrl, `${genhook.base}/webhook/github/${token}`);
    await page.locator('.saved', { hasText: 'Settings → Webhooks → Add webhook' }).waitFor();
    const file = readFileSync(join(genhook.dir, 'mappings', 'github.ini'), 'utf8');
    assert.match(file, /^secret = \$\{GENHOOK_GITHUB_SECRET\}$/m);
    for (const line of ['verify = github', 'align = org:42', 'priority = high', 'rate_limit = 50/s']) {
      assert.match(file, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    }
    assert.ok(!file.includes(SECRET), 'the secret itself is never written');
    await screenshot('saved');
  });

  await t.test('a signed webhook appears in the live table, delivered', async () => {
    await page.getByRole('link', { name: 'Live deliveries' }).click();
    await page.locator('.pill.on').waitFor();
    const answer = await postPush(PUSH);
    assert.equal(answer.status, 202, await answer.text());
    const alert = await sl1.waitFor((r) => r.body.includes('Codertocat/Hello-World'));
    assert.equal(JSON.parse(alert.body).message.startsWith('GitHub push in Codertocat/Hello-World to refs/heads/master'), true);
    assert.equal(JSON.parse(alert.body).aligned_resource, '/api/organization/42');
    const row = page.locator('table.live tr[data-status="delivered"]', { hasText: 'github' });
    await row.waitFor();
    await screenshot('live');
    await row.getByRole('button').click();
    const drawer = page.getByRole('complementary', { name: 'Delivery detail' });
    await drawer.getByText('SL1 attempts').waitFor();
    assert.match(await drawer.textContent(), /x-github-event/i);
    assert.ok(!(await drawer.textContent()).includes(SECRET));
    await screenshot('delivery-detail');
    await drawer.getByRole('button', { name: 'Close' }).click();
  });

  await t.test('a bad signature is in the refused list with its reason', async () => {
    const answer = await postPush(PUSH, { signature: 'sha256=0000' });
    assert.equal(answer.status, 401);
    await page.getByRole('link', { name: 'Refused' }).click();
    const row = page.locator('table.refused tbody tr', { hasText: 'github' });
    await row.waitFor();
    const reason = await row.getAttribute('data-reason');
    assert.match(reason, /signature/);
    await screenshot('refused');
  });

  await t.test('the refused list keeps only the rows whose reason holds the typed text', async () => {
    const unknown = await fetch(`${genhook.base}/webhook/nosuch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(unknown.status, 404);
    const rows = page.locator('table.refused tbody tr[data-id]');
    const signature = page.locator('table.refused tbody tr[data-reason*="signature"]');
    const other = page.locator('table.refused tbody tr[data-id]:not([data-reason*="signature"])');
    await other.first().waitFor();
    await signature.first().waitFor();
    const reason = page.getByLabel('Reason', { exact: true });
    await reason.fill('signature');
    await other.first().waitFor({ state: 'detached' });
    assert.equal(await rows.count(), await signature.count());
    await reason.fill('unknown');
    await signature.first().waitFor({ state: 'detached' });
    for (const r of await rows.all()) assert.match(await r.getAttribute('data-reason'), /unknown/);
    await reason.fill('no reason reads like this');
    await page.locator('table.refused tbody tr', { hasText: 'Nothing refused.' }).waitFor();
    await reason.fill('');
    await signature.first().waitFor();
    await other.first().waitFor();
  });

  await t.test('a dead letter is replayed from the console', async () => {
    const body = PUSH.replaceAll('"Initial commit"', `"${FAIL_MARK}"`);
    assert.notEqual(body, PUSH);
    assert.equal((await postPush(body)).status, 202);
    await sl1.waitFor((r) => r.body.includes(FAIL_MARK));
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.locator('tbody tr', { hasText: 'github' });
    // The list is not live: ask again until the worker has dead-lettered it.
    while (!(await row.count())) {
      await Promise.all([page.waitForResponse(/\/admin\/dlq\?/), page.getByRole('button', { name: 'Filter' }).click()]);
    }
    await screenshot('dead-letters');
    acceptMarked = true;
    const before = sl1.received.length;
    await row.first().getByRole('button', { name: /^Replay dead letter/ }).click();
    await page.getByText(/queued again/).waitFor();
    const replayed = await sl1.waitFor((r) => sl1.received.indexOf(r) >= before && r.body.includes(FAIL_MARK));
    assert.match(JSON.parse(replayed.body).message, new RegExp(FAIL_MARK));
    await page.locator('tbody tr', { hasText: 'No dead letter.' }).waitFor();
  });

  await t.test('dead letters matching a filter are replayed, then purged, after a confirmation', async () => {
    acceptMarked = false;
    const body = PUSH.replaceAll('"Initial commit"', `"${FAIL_MARK} again"`);
    assert.equal((await postPush(body)).status, 202);
    await sl1.waitFor((r) => r.body.includes(`${FAIL_MARK} again`));
    await page.getByLabel('Source').fill('github');
    const row = page.locator('tbody tr', { hasText: 'github' });
    while (!(await row.count())) {
      await Promise.all([page.waitForResponse(/\/admin\/dlq\?/), page.getByRole('button', { name: 'Filter' }).click()]);
    }
    // Replayed while SL1 still refuses it: queued again, dead-lettered again.
    const tries = sl1.received.length;
    await page.getByRole('button', { name: 'Replay all matching' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay all' }).click();
    await page.getByText('1 replayed, 0 failed.').waitFor();
    await sl1.waitFor((r) => sl1.received.indexOf(r) >= tries && r.body.includes(`${FAIL_MARK} again`));
    // SL1 has refused it again; once the worker has dead-lettered it, the list shows it.
    while ((await (await fetch(`${genhook.base}/admin/dlq?source=github`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()).count !== 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await Promise.all([page.waitForResponse(/\/admin\/dlq\?/), page.getByRole('button', { name: 'Filter' }).click()]);
    await row.waitFor();
    await page.getByRole('button', { name: 'Purge matching' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Delete every dead letter matching source github?', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Purge' }).click();
    await page.getByText('1 dead letter(s) purged.').waitFor();
    await page.locator('tbody tr', { hasText: 'No dead letter.' }).waitFor();
    const left = await fetch(`${genhook.base}/admin/dlq`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal((await left.json()).count, 0);
  });

  await t.test('the deliveries list keeps only the rows holding the typed text, in any case', async () => {
    await page.getByRole('link', { name: 'Live deliveries' }).click();
    const rows = page.locator('table.live tbody tr[data-id]');
    const marked = page.locator('table.live tbody tr[data-id]', { hasText: FAIL_MARK });
    const unmarked = page.locator('table.live tbody tr[data-id]', { hasNotText: FAIL_MARK });
    await marked.first().waitFor();
    await unmarked.first().waitFor();
    const text = page.getByLabel('Text', { exact: true });
    await text.fill(FAIL_MARK.toLowerCase());
    await unmarked.first().waitFor({ state: 'detached' });
    assert.notEqual(await rows.count(), 0);
    assert.equal(await rows.count(), await marked.count());
    await text.fill('no delivery says this');
    await page.locator('table.live tbody tr', { hasText: 'No delivery yet.' }).waitFor();
    await text.fill('');
    await unmarked.first().waitFor();
    await marked.first().waitFor();
  });

  await t.test('health shows counts and charts', async () => {
    await page.getByRole('link', { name: 'Health' }).click();
    await page.locator('.chart svg').first().waitFor();
    await page.getByRole('rowheader', { name: 'github' }).waitFor();
    await screenshot('health');
  });

  await t.test('the SL1 event policy is previewed, then created with the exact mutation', async () => {
    await page.getByRole('link', { name: 'SL1 policy' }).click();
    await page.getByLabel('Source').selectOption('github');
    await page.getByLabel('Severity').selectOption('3');
    await page.getByRole('button', { name: 'Preview the request' }).click();
    await page.locator('#policy-preview', { hasText: 'eventPolicyCreate' }).waitFor();
    assert.equal(await page.locator('#policy-mutation').textContent(), EXPECTED_MUTATION);
    assert.ok((await page.locator('#policy-preview').textContent()).startsWith(`POST ${graphql.url}/gql\n`));
    assert.equal(graphql.received.length, 0, 'a preview sends nothing');
    await screenshot('policy-preview');
    await page.getByRole('button', { name: 'Create the policy in SL1' }).click();
    await page.locator('#policy-result', { hasText: 'Created GENHOOK_github' }).waitFor();
    const [sent] = graphql.received;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.url, '/gql');
    assert.equal(sent.headers.authorization, `Basic ${Buffer.from('em7admin:em7pass').toString('base64')}`);
    assert.deepEqual(JSON.parse(sent.body), { query: EXPECTED_MUTATION, variables: {} });
  });

  await t.test('an opened mapping takes a recent delivery as its sample, a clicked field joins the line under the cursor', async () => {
    await page.getByRole('link', { name: 'Mappings' }).click();
    await page.getByRole('link', { name: 'github.ini' }).click();
    const text = page.getByLabel('Mapping file', { exact: true });
    await text.waitFor();
    const recent = page.getByLabel('or pick a recent delivery');
    await page.locator('#m-recent option', { hasText: 'push' }).first().waitFor({ state: 'attached' });
    await recent.selectOption({ index: 1 });
    await page.locator('#preview-message', { hasText: 'GitHub push in Codertocat/Hello-World' }).waitFor();
    // The cursor at the end of the push line, then a click on pusher.name.
    await text.evaluate((area) => { const at = area.value.trimEnd().length; area.focus(); area.setSelectionRange(at, at); });
    await page.locator('.tree summary', { hasText: 'pusher' }).first().click();
    await page.locator('button.leaf[data-path="pusher.name"]').click();
    const line = (await text.inputValue()).split('\n').find((l) => l.startsWith('push:'));
    assert.equal(line, 'push: repository{full_name},ref,head_commit{message},pusher{name}::GitHub push in $repository.full_name$ to $ref$: $head_commit.message$$pusher.name$');
    await page.locator('#preview-message', { hasText: /[a-z]Codertocat$/ }).waitFor();
    await screenshot('mapping-text');
    // A payload from a file.
    await page.getByLabel('or upload a file').setInputFiles(join(ROOT, 'tests', 'fixtures', 'github', 'pull_request.opened.json'));
    await page.locator('button.leaf[data-path="number"]').waitFor();
  });

  await t.test('the builder switched to text keeps its sample, and the preview follows the edited text', async () => {
    await page.getByRole('link', { name: 'Mappings' }).click();
    await page.getByRole('link', { name: 'New mapping' }).click();
    await page.getByLabel('Source name').fill('acme');
    await page.getByLabel('Event type from').fill('kind');
    await page.getByLabel('Paste a payload').fill('{"kind":"deploy","app":"rocket"}');
    await page.getByLabel('Fields', { exact: true }).fill('kind');
    await page.getByLabel('Message', { exact: true }).fill('Acme $kind$');
    const preview = page.locator('#preview-message');
    await page.locator('#preview-message', { hasText: /^Acme deploy$/ }).waitFor();
    await page.getByRole('button', { name: 'Edit as text' }).click();
    const text = page.getByLabel('Mapping file', { exact: true });
    await text.waitFor();
    const written = await text.inputValue();
    assert.equal(written, '[acme]\nevent = kind\n*: kind::Acme $kind$\n');
    const edited = written.replace('kind::Acme $kind$', 'kind,app::Acme $kind$ of $app$');
    await text.fill(edited);
    await page.locator('#preview-message', { hasText: /^Acme deploy of rocket$/ }).waitFor();
    assert.equal(await page.locator('#preview-error').textContent(), '');
    // A broken edit shows its problem; fixed, the preview follows again.
    allowed = [422];
    await text.fill(edited.replace('$app$', '$nope$'));
    await page.locator('ol.file li.bad', { hasText: 'nope' }).waitFor();
    await text.fill(edited.replace('of $app$', 'for $app$'));
    await page.locator('#preview-message', { hasText: /^Acme deploy for rocket$/ }).waitFor();
    allowed = [];
    assert.equal(await preview.count(), 1);
    assert.ok(!existsSync(join(genhook.dir, 'mappings', 'acme.ini')), 'nothing is saved');
  });

  await t.test('a mapping is deleted after a confirmation', async () => {
    await page.getByRole('link', { name: 'Mappings' }).click();
    await page.getByRole('button', { name: 'Delete stripe.ini' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await screenshot('delete-confirmation');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.ok(existsSync(join(genhook.dir, 'mappings', 'stripe.ini')), 'cancel keeps the file');
    await page.getByRole('button', { name: 'Delete stripe.ini' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete stripe.ini' }).waitFor({ state: 'detached' });
    assert.ok(!existsSync(join(genhook.dir, 'mappings', 'stripe.ini')));
    assert.ok(existsSync(join(genhook.dir, 'mappings', 'github.ini')));
  });

  await t.test('no console error during the run', () => {
    assert.deepEqual(errors, []);
  });

  await t.test('sign-in with the keyboard alone', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await context.newPage();
    watch(p);
    await p.goto(`${genhook.base}/console`);
    await p.keyboard.press('Tab'); // the skip link, then the token field
    for (let i = 0; i < 5 && !(await p.evaluate(() => document.activeElement?.id === 'token')); i += 1) await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement?.id), 'token');
    await p.keyboard.type(ADMIN);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { name: 'Mappings' }).waitFor();
    // Tab reaches the navigation; Enter on a link opens its page.
    for (let i = 0; i < 10 && !(await p.evaluate(() => document.activeElement?.textContent === 'Health')); i += 1) await p.keyboard.press('Tab');
    await screenshot('keyboard-focus', p);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { name: 'Health' }).waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  await t.test('readable at phone width', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
    const p = await context.newPage();
    watch(p);
    await signIn(p);
    await p.goto(`${genhook.base}/console#/mappings/edit/github`);
    await p.getByLabel('Mapping file', { exact: true }).waitFor();
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the screen`);
    await screenshot('phone', p);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

// The mutation for a source whose messages start "GitHub push in " (no message_prefix), severity 3.
const EXPECTED_MUTATION = `mutation CreateEventPolicy {
  eventPolicyCreate(
    message: "%I"
    messageMatch: false
    identifierPattern: "^(.*)"
    enabled: true
    identifierResultFormat: ""
    multiMatch: false
    name: "GENHOOK_github"
    regularExpression1: "^GitHub push in "
    regularExpression2: ""
    regularExpressionSearch: true
    severity: 3
    source: 6
  ) {
    id
  }
}`;
