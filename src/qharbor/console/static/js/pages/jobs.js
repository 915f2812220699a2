// The jobs list: filters, cursor pages, and live updates from one event stream.

import {api, query} from '../api.js';
import {errorBox, fill, fmtTime, h, progressOf, setTitle, statusBadge} from '../dom.js';

const STATUSES = ['QUEUED', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED'];
const FILTERS = ['status', 'device', 'tag', 'session_id', 'created_after', 'created_before'];

function filtersForm(params) {
  const field = (name, label, control) => h('div', {class: 'field'}, h('label', {for: `f-${name}`}, label), control);
  const input = (name, type = 'text') => h('input', {id: `f-${name}`, name, type, value: params.get(name) || ''});
  const status = h('select', {id: 'f-status', name: 'status'}, h('option', {value: ''}, 'any'),
    STATUSES.map((s) => h('option', {value: s, selected: params.get('status') === s}, s)));
  return h('form', {class: 'filters', method: 'get', action: '/jobs', role: 'search', 'aria-label': 'Filter jobs'},
    field('status', 'Status', status),
    field('device', 'Device', input('device')),
    field('tag', 'Tag', input('tag')),
    field('session_id', 'Session', input('session_id')),
    field('created_after', 'Created from', input('created_after', 'date')),
    field('created_before', 'Created before', input('created_before', 'date')),
    h('div', {class: 'field'}, h('button', {type: 'submit'}, 'Filter')));
}

function cells(job) {
  return [
    h('td', {}, h('a', {href: `/jobs/${job.id}`, class: 'mono'}, job.id.slice(0, 12))),
    h('td', {class: 'job-status'}, statusBadge(job.status)),
    h('td', {class: 'job-progress'}, progressOf(job)),
    h('td', {}, job.device),
    h('td', {}, (job.tags || []).join(', ')),
    h('td', {}, job.session_id ? job.session_id.slice(0, 8) : ''),
    h('td', {}, fmtTime(job.created_at)),
    h('td', {}, fmtTime(job.finished_at)),
  ];
}

function row(job) {
  return h('tr', {'data-job': job.id, 'data-status': job.status}, cells(job));
}

function matches(job, params) {
  if (params.get('status') && job.status !== params.get('status')) return false;
  if (params.get('device') && job.device !== params.get('device')) return false;
  if (params.get('tag') && !(job.tags || []).includes(params.get('tag'))) return false;
  if (params.get('session_id') && job.session_id !== params.get('session_id')) return false;
  return !params.get('created_before');
}

export async function jobsPage(main) {
  setTitle('Jobs');
  const params = new URLSearchParams(location.search);
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const first = api(`/v1/jobs${query({...filters, limit: 50})}`);
  const tbody = h('tbody', {});
  const live = h('p', {class: 'muted live', role: 'status', id: 'live'}, 'Connecting…');
  const more = h('button', {type: 'button', id: 'more', hidden: true}, 'Older jobs');
  const tableEl = h('table', {id: 'jobs'},
    h('caption', {}, 'Your project’s jobs, newest first'),
    h('thead', {}, h('tr', {}, ['Job', 'Status', 'Progress', 'Device', 'Tags', 'Session', 'Created (UTC)', 'Finished (UTC)']
      .map((t) => h('th', {scope: 'col'}, t)))),
    tbody);
  const error = h('div', {});
  fill(main, h('h1', {}, 'Jobs'), filtersForm(params), live, error, tableEl, more);

  let cursor = null;
  const show = (page, replace) => {
    if (replace) tbody.replaceChildren();
    for (const job of page.jobs) {
      if (!tbody.querySelector(`tr[data-job="${job.id}"]`)) tbody.append(row(job));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  try {
    show(await first, true);
    performance.mark('qharbor-jobs-painted');
  } catch (e) {
    fill(error, errorBox(e));
    return;
  }
  more.addEventListener('click', async () => {
    show(await api(`/v1/jobs${query({...filters, limit: 50, cursor})}`), false);
  });

  const upsert = (job) => {
    const existing = tbody.querySelector(`tr[data-job="${job.id}"]`);
    if (existing) {
      existing.replaceChildren(...cells(job));
      existing.dataset.status = job.status;
      if (!matches(job, params) && params.get('status')) existing.remove();
    } else if (matches(job, params)) {
      tbody.prepend(row(job));
    }
  };
  const events = new EventSource('/v1/jobs:events');
  events.addEventListener('ready', async () => {
    live.textContent = 'Live: changes appear as they happen.';
    // Anything that changed before the stream opened shows too.
    const page = await api(`/v1/jobs${query({...filters, limit: 50})}`);
    for (const job of [...page.jobs].reverse()) upsert(job);
  });
  events.addEventListener('job', (event) => upsert(JSON.parse(event.data)));
  events.addEventListener('error', () => {
    live.textContent = 'Reconnecting…';
    // A refused stream (the sign-in expired, say) is not retried: ask who is logged in,
    // which goes to the login page on a 401.
    if (events.readyState === EventSource.CLOSED) api('/v1/me').catch(() => {});
  });
  window.addEventListener('pagehide', () => events.close());
}
