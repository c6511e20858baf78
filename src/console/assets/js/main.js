// The console's entry: sign-in and the hash router (#/page/args), one module per page.

import { api, setToken, token, ApiError } from './api.js';
import { replace } from './dom.js';
import * as mappings from './mappings.js';
import * as deliveries from './deliveries.js';
import * as refused from './refused.js';
import * as dlq from './dlq.js';
import * as health from './health.js';
import * as policy from './policy.js';

const PAGES = { mappings, deliveries, refused, dlq, health, policy };
const TITLES = {
  mappings: 'Mappings', deliveries: 'Live deliveries', refused: 'Refused requests',
  dlq: 'Dead letters', health: 'Health', policy: 'SL1 event policy',
};

let cleanup = null;

function $(id) { return document.getElementById(id); }

function showSignIn(message = '') {
  stop();
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
  $('token').value = '';
  $('token').focus();
}

function stop() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
}

async function signIn(event) {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  setToken(value);
  try {
    await api('dlq', { query: { limit: 1 } });
  } catch (error) {
    setToken(null);
    const message = error instanceof ApiError && error.status === 401
      ? 'That token was refused.' : `Cannot reach the admin API: ${error.message}`;
    showSignIn(message);
    return;
  }
  start();
}

function start() {
  $('signin').hidden = true;
  $('app').hidden = false;
  if (!location.hash || location.hash === '#') location.hash = '#/mappings';
  else route();
}

function route() {
  if (!token()) return showSignIn();
  stop();
  const [name = 'mappings', ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = PAGES[name] ? name : 'mappings';
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.page === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${TITLES[page]} · GenHook console`;
  const main = replace($('main'));
  cleanup = PAGES[page].render(main, args) || null;
}

window.addEventListener('hashchange', route);
window.addEventListener('genhook:unauthorized', () => {
  setToken(null);
  showSignIn('The admin token was refused; sign in again.');
});
$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', () => { setToken(null); showSignIn(); });

if (token()) start();
else showSignIn();
