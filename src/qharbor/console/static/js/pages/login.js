// Logging in: with an API token, or through the centre's identity provider when it has
// one (single sign-on). Either way the centre keeps the token in an HttpOnly cookie.

import {h, fill, setTitle} from '../dom.js';

// Why the console sent the browser here (?why=CODE), in words for the person.
const REASONS = {
  TOKEN_EXPIRED: 'Your sign-in has expired. Sign in again to go on where you were.',
  TOKEN_REVOKED: 'Your token was revoked. Log in with another token.',
  TOKEN_UNKNOWN_KEY: 'Your identity provider has changed its keys. Sign in again.',
};

function nextPath() {
  const next = new URLSearchParams(location.search).get('next') || '/jobs';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/jobs';
}

async function ssoSection() {
  // GET /auth/sso answers 404 when the centre has no identity provider.
  const response = await fetch('/auth/sso', {headers: {Accept: 'application/json'}}).catch(() => null);
  if (!response || !response.ok) return null;
  const sso = await response.json();
  let host = sso.issuer;
  try { host = new URL(sso.issuer).host; } catch { /* keep the issuer as it is */ }
  return h('div', {class: 'sso', id: 'sso'},
    h('a', {class: 'button', id: 'sso-login', href: `/auth/login?next=${encodeURIComponent(nextPath())}`},
      'Sign in with your institution'),
    h('p', {class: 'muted'}, `Through ${host}. Your groups there give you your projects here.`),
    h('p', {class: 'muted or'}, 'or log in with an API token'));
}

export async function loginPage(main) {
  setTitle('Log in');
  const why = REASONS[new URLSearchParams(location.search).get('why')];
  const notice = why ? h('p', {id: 'login-notice', class: 'notice', role: 'status'}, why) : null;
  const message = h('p', {id: 'login-error', class: 'error', role: 'alert', hidden: true});
  const input = h('input', {id: 'token', name: 'token', type: 'password', required: true,
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-help'});
  const sso = h('div', {});
  const form = h('form', {class: 'card login', method: 'post', action: '/console/login'},
    h('h1', {}, 'Log in to qharbor'),
    notice,
    sso,
    h('label', {for: 'token'}, 'API token'),
    input,
    h('p', {id: 'token-help', class: 'muted'},
      'A token such as the one the centre printed on its first start, or one from `qharbor token create`.'),
    message,
    h('button', {type: 'submit'}, 'Log in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hidden = true;
    const response = await fetch('/console/login', {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({token: input.value}),
    });
    if (response.ok) {
      location.assign(nextPath());
      return;
    }
    const body = await response.json().catch(() => ({}));
    message.textContent = (body.error && body.error.message) || 'The token was not accepted.';
    message.hidden = false;
    input.focus();
  });
  fill(main, form);
  input.focus();
  const single = await ssoSection();
  if (single) fill(sso, single);
}
