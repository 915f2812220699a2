// Every device: status, queue and what it is.

import {api} from '../api.js';
import {errorBox, fill, h, setTitle, statusBadge, table} from '../dom.js';

export async function devicesPage(main) {
  setTitle('Devices');
  let devices;
  try {
    devices = (await api('/v1/devices')).devices;
  } catch (e) {
    fill(main, h('h1', {}, 'Devices'), errorBox(e));
    return;
  }
  fill(main, h('h1', {}, 'Devices'), table('Devices, their status and queues', [
    ['Device', (d) => h('a', {href: `/devices/${encodeURIComponent(d.name)}`}, d.name)],
    ['Kind', (d) => d.kind],
    ['Status', (d) => [statusBadge(d.status), d.status_reason ? ` ${d.status_reason}` : '']],
    ['Queued', (d) => String(d.queue_length)],
    ['Running', (d) => String(d.running)],
    ['Qubits', (d) => String(d.max_qubits)],
    ['Description', (d) => d.description],
  ], devices));
}
