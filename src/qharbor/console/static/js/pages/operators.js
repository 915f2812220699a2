// For the centre's admins: queues, workers and cluster nodes, users, projects and quotas,
// the audit log, keys.

import {api, query} from '../api.js';
import {errorBox, facts, fill, fmtNumber, fmtSeconds, fmtTime, h, section, setTitle, statusBadge, table} from '../dom.js';

const GIB = 1024 ** 3;

function executorSection(executor) {
  const progress = (w) => (w.progress ? `done ${w.progress.done} of ${w.progress.total}` : '');
  return section('Workers', facts([
    ['Executor', executor.kind === 'ray' ? `Ray cluster at ${executor.address}` : 'worker processes on this host'],
    ['Health', executor.health ? h('span', {class: 'error'}, executor.health) : 'running'],
    ['Slots', `${executor.free_slots} free of ${executor.slots}`],
  ]), table('Workers and the jobs they run', [
    ['Worker', (w) => h('span', {class: 'mono'}, w.name)],
    ['State', (w) => (w.job_id ? 'busy' : (w.ready ? 'idle' : 'starting'))],
    ['Job', (w) => (w.job_id ? h('a', {href: `/jobs/${w.job_id}`, class: 'mono'}, w.job_id.slice(0, 12)) : '')],
    ['Attempt', (w) => (w.attempt === null ? '' : String(w.attempt))],
    ['Running for', (w) => (w.busy_s === null ? '' : fmtSeconds(w.busy_s))],
    ['Progress', progress],
  ], executor.workers, {empty: 'No job is running.'}),
  executor.kind === 'ray' ? table('Ray nodes', [
    ['Node', (n) => h('span', {class: 'mono'}, `${n.address}/${n.node_id.slice(0, 8)}`)],
    ['Alive', (n) => (n.alive ? 'yes' : 'no')],
    ['CPUs', (n) => fmtNumber(n.resources.CPU || 0)], ['GPUs', (n) => fmtNumber(n.resources.GPU || 0)],
    ['Memory (GiB)', (n) => fmtNumber((n.resources.memory || 0) / GIB, 1)],
    ['Devices', (n) => Object.keys(n.resources).filter((k) => k.startsWith('device:')).map((k) => k.slice(7)).join(', ')],
  ], executor.nodes, {empty: 'The cluster has not been reached yet.'}) : null);
}

function auditSection() {
  const results = h('div', {id: 'audit-results'});
  const input = (id, label) => [h('label', {for: id}, label), h('input', {id, type: 'text'})];
  const form = h('form', {class: 'inline', role: 'search', 'aria-label': 'Search the audit log'},
    input('a-action', 'Action'), input('a-actor', 'Actor (user id)'), input('a-target', 'Target'),
    h('button', {type: 'submit'}, 'Search'));
  const search = async (event) => {
    if (event) event.preventDefault();
    try {
      const value = (id) => form.querySelector(`#${id}`).value.trim();
      const page = await api(`/v1/admin/audit${query({action: value('a-action'), actor: value('a-actor'), target: value('a-target'), limit: 50})}`);
      fill(results, table('Audit log, newest first', [
        ['#', (e) => String(e.seq)], ['At (UTC)', (e) => fmtTime(e.at)], ['Action', (e) => e.action],
        ['Actor', (e) => h('span', {class: 'mono'}, (e.actor_id || '').slice(0, 8))], ['Target', (e) => e.target || ''],
        ['Status', (e) => (e.status === null ? '' : String(e.status))],
      ], page.entries, {empty: 'No entries match.'}));
    } catch (e) { fill(results, errorBox(e)); }
  };
  form.addEventListener('submit', search);
  search();
  return section('Audit log', form, results);
}

export async function operatorsPage(main, mePromise) {
  setTitle('Operators');
  const me = await mePromise;
  if (!me.is_admin) {
    fill(main, h('h1', {}, 'Operators'), errorBox('This page is for the centre’s admins.'));
    return;
  }
  let devices, users, projects, keys, executor;
  try {
    [devices, users, projects, keys, executor] = await Promise.all([
      api('/v1/devices'), api('/v1/admin/users'), api('/v1/admin/projects'), api('/v1/keys'),
      api('/v1/admin/executor')]);
  } catch (e) {
    fill(main, h('h1', {}, 'Operators'), errorBox(e));
    return;
  }
  const quotas = await Promise.all(projects.projects.map((p) => api(`/v1/admin/projects/${p.id}/quota`).catch(() => null)));
  const signing = keys.keys.filter((k) => k.purpose === 'signing');
  fill(main, h('h1', {}, 'Operators'),
    section('Queues per device', table('Queues per device', [
      ['Device', (d) => h('a', {href: `/devices/${encodeURIComponent(d.name)}`}, d.name)],
      ['Status', (d) => [statusBadge(d.status), d.status_reason ? ` ${d.status_reason}` : '']],
      ['Queued', (d) => String(d.queue_length)], ['Running', (d) => String(d.running)],
      ['Workers', (d) => String(d.concurrency)],
      ['Maintenance', (d) => (d.maintenance || []).map((w) => `${fmtTime(w.start)} – ${fmtTime(w.end)}`).join('; ')],
    ], devices.devices), h('p', {class: 'muted'}, 'Maintenance windows and fault injection are on each device’s page.')),
    executorSection(executor),
    section('Users', table('Users', [
      ['Name', (u) => u.name], ['Admin', (u) => (u.is_admin ? 'yes' : 'no')],
      ['Projects and roles', (u) => u.projects.map((p) => `${p.name} (${p.role})`).join(', ')],
      ['Created (UTC)', (u) => fmtTime(u.created_at)],
    ], users.users)),
    section('Projects and quotas', table('Projects and quotas', [
      ['Project', (p) => p.name], ['Members', (p) => p.members.map((m) => `${m.name} (${m.role})`).join(', ')],
      ['Concurrent jobs', (p, i) => String(p.max_concurrent_jobs ?? 'no limit')],
      ['Budgets', (p) => {
        const q = quotas[projects.projects.indexOf(p)];
        return q && q.budgets.length ? q.budgets.map((b) => `${b.device_class}: ${Math.round(b.used_s)}/${b.budget_s} s per ${b.period}`).join('; ') : 'none';
      }],
    ], projects.projects)),
    auditSection(),
    section('Signing keys', facts([
      ['Signing now with', h('span', {class: 'mono'}, keys.signing_key_id)],
      ['Sealing with', h('span', {class: 'mono'}, keys.sealing_key_id)],
    ]), table('Signing keys, retired ones kept for verification', [
      ['Key', (k) => h('span', {class: 'mono'}, k.id)], ['Created (UTC)', (k) => fmtTime(k.created_at)],
      ['Retired (UTC)', (k) => (k.retired_at ? fmtTime(k.retired_at) : 'active')],
    ], signing)));
}
