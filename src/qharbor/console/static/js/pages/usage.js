// Usage against quota over time, reservations, sessions and batches, your tokens, and
// your data (GDPR).

import {api} from '../api.js';
import {download, errorBox, fill, fmtNumber, fmtTime, h, section, setTitle, statusBadge, table} from '../dom.js';
import {lineChart} from '../plots.js';
import {reservationsSection} from '../reservations.js';

function usageSection(usage) {
  const byDevice = {};
  for (const row of usage.usage) (byDevice[`${row.project} / ${row.device}`] ||= []).push([new Date(`${row.day}T00:00:00Z`), row.device_s]);
  const series = Object.entries(byDevice).map(([name, points]) => ({name, points: points.sort((a, b) => a[0] - b[0])}));
  const budgets = usage.quota.budgets || [];
  return section('Usage and quota',
    lineChart(series, {label: 'Device-seconds per day, by project and device', unit: 's'}),
    table('Quota budgets', [
      ['Device class', (b) => b.device_class], ['Period', (b) => `${b.period} from ${fmtTime(b.period_start)}`],
      ['Used (s)', (b) => fmtNumber(b.used_s)], ['Reserved (s)', (b) => fmtNumber(b.reserved_s)],
      ['Budget (s)', (b) => fmtNumber(b.budget_s)], ['Remaining (s)', (b) => fmtNumber(b.remaining_s)],
    ], budgets, {empty: 'The project has no device-time budget.'}),
    h('p', {}, `Concurrent jobs: ${usage.quota.active_jobs} active, limit ${usage.quota.max_concurrent_jobs ?? 'none'}.`));
}

function sessionsSection(sessions) {
  return section('Sessions and batches', table('Sessions and batches', [
    ['Id', (x) => h('a', {href: `/jobs?session_id=${x.id}`, class: 'mono'}, x.id.slice(0, 8))],
    ['Mode', (x) => x.mode], ['Device', (x) => x.device], ['Status', (x) => statusBadge(x.status)],
    ['Jobs', (x) => Object.entries(x.jobs || {}).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(', ')],
    ['Created (UTC)', (x) => fmtTime(x.created_at)], ['Expires (UTC)', (x) => fmtTime(x.expires_at)],
  ], sessions, {empty: 'No sessions or batches.'}));
}

function tokensSection(tokens, reload) {
  const out = h('div', {role: 'status', id: 'token-status'});
  const form = h('form', {class: 'inline', id: 'token-create'},
    h('label', {for: 't-name'}, 'Name'), h('input', {id: 't-name', type: 'text', value: 'console', required: true}),
    h('fieldset', {}, h('legend', {}, 'Scopes'),
      ['read', 'submit'].map((scope) => h('label', {}, h('input', {type: 'checkbox', name: 'scope', value: scope, checked: true}), ` ${scope}`))),
    h('button', {type: 'submit'}, 'Create token'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const scopes = [...form.querySelectorAll('input[name=scope]:checked')].map((x) => x.value);
      const issued = await api('/v1/me/tokens', {method: 'POST', body: {name: form.querySelector('#t-name').value, scopes}});
      await reload();
      fill(document.getElementById('token-status'), h('p', {}, 'New token (shown once; copy it now): '),
        h('output', {class: 'mono secret', id: 'new-token'}, issued.token));
    } catch (e) { fill(out, errorBox(e)); }
  });
  return section('Your tokens', table('Your tokens', [
    ['Name', (t) => t.name], ['Scopes', (t) => t.scopes.join(', ')], ['Created (UTC)', (t) => fmtTime(t.created_at)],
    ['Expires (UTC)', (t) => fmtTime(t.expires_at)],
    ['State', (t) => (t.revoked_at ? `revoked ${fmtTime(t.revoked_at)}` : h('button', {type: 'button', 'aria-label': `Revoke token ${t.name}`, onclick: async () => {
      try {
        await api(`/v1/me/tokens/${t.id}/revoke`, {method: 'POST'});
        await reload();
      } catch (e) { fill(out, errorBox(e)); }
    }}, 'Revoke'))],
  ], tokens), form, out);
}

function dataSection(me) {
  const out = h('div', {role: 'status'});
  const confirm = h('input', {id: 'erase-confirm', type: 'text', autocomplete: 'off'});
  return section('Your data',
    h('p', {}, 'Download everything the centre holds about you, or erase your account with its jobs and results.'),
    h('div', {class: 'actions'}, h('button', {type: 'button', id: 'export', onclick: async () => {
      const answer = await api('/v1/me/export', {raw: true});
      download(`qharbor-export-${me.user}.json`, answer.text);
    }}, 'Download my data')),
    me.is_admin ? h('p', {class: 'muted'}, 'A centre admin’s account cannot erase itself.') : h('form', {class: 'inline', onsubmit: async (event) => {
      event.preventDefault();
      if (confirm.value !== me.user) { out.textContent = `Type your user name (${me.user}) to confirm.`; return; }
      try {
        await api('/v1/me', {method: 'DELETE'});
        location.assign('/login');
      } catch (e) { fill(out, errorBox(e)); }
    }}, h('label', {for: 'erase-confirm'}, `Type ${me.user} to confirm`), confirm, h('button', {type: 'submit', class: 'danger'}, 'Erase my account')),
    out);
}

export async function usagePage(main, mePromise) {
  setTitle('Usage');
  const tokensHolder = h('div', {});
  const reload = async () => fill(tokensHolder, tokensSection((await api('/v1/me/tokens')).tokens, reload));
  try {
    const [usage, sessions, devices, me] = await Promise.all([
      api('/v1/usage'), api('/v1/sessions'), api('/v1/devices'), mePromise]);
    await reload();
    fill(main, h('h1', {}, 'Usage'), usageSection(usage), reservationsSection({me, devices: devices.devices}),
      sessionsSection(sessions.sessions), tokensHolder, dataSection(me));
  } catch (e) {
    fill(main, h('h1', {}, 'Usage'), errorBox(e));
  }
}
