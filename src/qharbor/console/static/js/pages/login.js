// Logging in with an API token; the centre keeps it in an HttpOnly cookie.

import {h, fill, setTitle} from '../dom.js';

export function loginPage(main) {
  setTitle('Log in');
  const message = h('p', {id: 'login-error', class: 'error', role: 'alert', hidden: true});
  const input = h('input', {id: 'token', name: 'token', type: 'password', required: true,
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-help'});
  const form = h('form', {class: 'card login', method: 'post', action: '/console/login'},
    h('h1', {}, 'Log in to qharbor'),
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
      const next = new URLSearchParams(location.search).get('next') || '/jobs';
      location.assign(next.startsWith('/') && !next.startsWith('//') ? next : '/jobs');
      return;
    }
    const body = await response.json().catch(() => ({}));
    message.textContent = (body.error && body.error.message) || 'The token was not accepted.';
    message.hidden = false;
    input.focus();
  });
  fill(main, form);
  input.focus();
}
