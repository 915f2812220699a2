// The console's entry point: who is logged in, the navigation, and the page the path names.

import {api, csrfToken} from './api.js';
import {errorBox, fill} from './dom.js';
import {loginPage} from './pages/login.js';
import {jobsPage} from './pages/jobs.js';
import {jobPage} from './pages/job.js';
import {devicesPage} from './pages/devices.js';
import {devicePage} from './pages/device.js';
import {usagePage} from './pages/usage.js';
import {operatorsPage} from './pages/operators.js';

const ROUTES = [
  [/^\/(?:jobs)?\/?$/, jobsPage],
  [/^\/jobs\/([\w-]+)$/, jobPage],
  [/^\/devices\/?$/, devicesPage],
  [/^\/devices\/([\w.-]+)$/, devicePage],
  [/^\/usage\/?$/, usagePage],
  [/^\/operators\/?$/, operatorsPage],
];

async function logout() {
  await fetch('/console/logout', {method: 'POST', credentials: 'same-origin', headers: {'X-CSRF-Token': csrfToken()}});
  location.assign('/login');
}

function showNav(me) {
  document.getElementById('nav').hidden = false;
  document.getElementById('nav-operators').hidden = !me.is_admin;
  document.getElementById('who').textContent = `${me.user} · ${me.project}${me.is_admin ? ' · admin' : ''}`;
  const button = document.getElementById('logout');
  button.hidden = false;
  button.addEventListener('click', logout);
  for (const link of document.querySelectorAll('#nav a')) {
    const here = location.pathname === link.pathname || location.pathname.startsWith(`${link.pathname}/`) ||
      (location.pathname === '/' && link.pathname === '/jobs');
    if (here) link.setAttribute('aria-current', 'page');
  }
}

async function start() {
  const main = document.getElementById('main');
  if (location.pathname === '/login') {
    loginPage(main);
    return;
  }
  const route = ROUTES.find(([pattern]) => pattern.test(location.pathname));
  if (!route) {
    fill(main, errorBox('No such page.'));
    return;
  }
  const args = location.pathname.match(route[0]).slice(1).map(decodeURIComponent);
  const mePromise = api('/v1/me');
  try {
    // The page starts its own reads at once; who is logged in arrives alongside.
    const page = route[1](main, mePromise, ...args);
    const me = await mePromise;
    showNav(me);
    await page;
  } catch (error) {
    if (error.status !== 401) fill(main, errorBox(error));
  }
}

start();
