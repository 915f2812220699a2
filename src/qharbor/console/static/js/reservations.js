// Reservations: a project's window on a device. Members list, book and cancel their
// project's; the centre's admins see every project's, and approve or pre-empt them.

import {api, query} from './api.js';
import {errorBox, fill, fmtNumber, fmtTime, h, section, statusBadge, table} from './dom.js';

const OPEN = ['REQUESTED', 'APPROVED'];

// datetime-local inputs hold minutes without a zone; the console speaks UTC.
const minutes = (date) => date.toISOString().slice(0, 16);

function bookForm(devices, fixedDevice, done, out) {
  const start = new Date(Math.ceil(Date.now() / 3600e3) * 3600e3);
  const end = new Date(start.getTime() + 3600e3);
  const deviceControl = fixedDevice
    ? null
    : [h('label', {for: 'r-device'}, 'Device'),
      h('select', {id: 'r-device', required: true}, devices.map((d) => h('option', {value: d.name}, d.name)))];
  const form = h('form', {class: 'inline', id: 'reservation-book', 'aria-label': 'Book a reservation'},
    deviceControl,
    h('label', {for: 'r-start'}, 'Start (UTC)'), h('input', {id: 'r-start', type: 'datetime-local', value: minutes(start), required: true}),
    h('label', {for: 'r-end'}, 'End (UTC)'), h('input', {id: 'r-end', type: 'datetime-local', value: minutes(end), required: true}),
    h('label', {for: 'r-note'}, 'Note'), h('input', {id: 'r-note', type: 'text', maxlength: 256}),
    h('button', {type: 'submit'}, 'Book'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = (id) => form.querySelector(`#${id}`).value;
    try {
      const booked = await api('/v1/reservations', {method: 'POST', body: {
        device: fixedDevice || value('r-device'),
        start: `${value('r-start')}:00Z`, end: `${value('r-end')}:00Z`,
        note: value('r-note') || null}});
      await done();
      out.textContent = `Booked ${booked.device} from ${fmtTime(booked.start)} to ${fmtTime(booked.end)}: ${booked.status}.`;
    } catch (e) { fill(out, errorBox(e)); }
  });
  return form;
}

function decide(reservation, action, reason, reload, out) {
  return async () => {
    const why = reason ? reason() : '';
    if (action === 'preempt' && !why) {
      out.textContent = 'Give a reason to pre-empt a reservation; its project sees it.';
      return;
    }
    try {
      await api(`/v1/reservations/${reservation.id}/${action}`, {method: 'POST', body: why ? {reason: why} : undefined});
      await reload();
      out.textContent = `Reservation ${reservation.id.slice(0, 8)}: ${action} done.`;
    } catch (e) { fill(out, errorBox(e)); }
  };
}

function actionsCell(r, me, reason, reload, out) {
  if (!OPEN.includes(r.status)) return '';
  const label = `${r.device} ${fmtTime(r.start)}`;
  const buttons = [h('button', {type: 'button', class: 'small', 'data-action': 'cancel', 'aria-label': `Cancel reservation of ${label}`,
    onclick: decide(r, 'cancel', reason, reload, out)}, 'Cancel')];
  if (me.is_admin && r.status === 'REQUESTED') {
    buttons.push(h('button', {type: 'button', class: 'small', 'data-action': 'approve', 'aria-label': `Approve reservation of ${label}`,
      onclick: decide(r, 'approve', reason, reload, out)}, 'Approve'));
  }
  if (me.is_admin && r.status === 'APPROVED') {
    buttons.push(h('button', {type: 'button', class: 'small danger', 'data-action': 'preempt', 'aria-label': `Pre-empt reservation of ${label}`,
      onclick: decide(r, 'preempt', reason, reload, out)}, 'Pre-empt'));
  }
  return buttons;
}

/**
 * The reservations section: on a device's page (``device`` set) its windows, on the
 * usage page every device's. Returns the section; it fills itself in.
 */
export function reservationsSection({me, device = null, devices = []}) {
  const out = h('div', {role: 'status', id: 'reservation-status'});
  const list = h('div', {id: 'reservations'}, h('p', {class: 'muted'}, 'Loading…'));
  const reasonInput = me.is_admin ? h('input', {id: 'r-reason', type: 'text', maxlength: 256}) : null;
  const reason = reasonInput ? () => reasonInput.value.trim() : undefined;
  const reload = async () => {
    try {
      const found = await api(`/v1/reservations${query({device, limit: 100})}`);
      fill(list, table(device ? `Reservations of ${device} (UTC)` : 'Reservations (UTC)', [
        ['Project', (r) => r.project],
        device ? null : ['Device', (r) => h('a', {href: `/devices/${encodeURIComponent(r.device)}`}, r.device)],
        ['Start', (r) => fmtTime(r.start)], ['End', (r) => fmtTime(r.end)],
        ['Status', (r) => statusBadge(r.status)],
        ['Note', (r) => r.note || ''], ['Reason', (r) => r.reason || ''],
        ['Charged (s)', (r) => (r.charged_s === null ? '' : fmtNumber(r.charged_s))],
        ['Actions', (r) => actionsCell(r, me, reason, reload, out)],
      ].filter(Boolean), found.reservations, {empty: 'No reservations.'}));
      for (const tr of list.querySelectorAll('tbody tr')) {
        const index = [...tr.parentNode.children].indexOf(tr);
        const r = found.reservations[index];
        tr.dataset.reservation = r.id;
        tr.dataset.status = r.status;
      }
    } catch (e) { fill(list, errorBox(e)); }
  };
  reload();
  const canBook = me.role !== 'viewer';
  return section('Reservations',
    h('p', {class: 'muted'}, 'During an approved window only its project’s jobs run on the device; the project is charged for the window.'),
    list,
    me.is_admin ? h('p', {class: 'inline'}, h('label', {for: 'r-reason'}, 'Reason for approving or pre-empting'), reasonInput) : null,
    canBook ? bookForm(devices, device, reload, out) : null,
    out);
}
