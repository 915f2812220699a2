// One device: status and queue, topology by error, calibration history, telemetry,
// maintenance windows, reservations, a dry-run form; operators also plan maintenance
// and inject faults.

import {api} from '../api.js';
import {errorBox, facts, fill, fmtNumber, fmtSeconds, fmtTime, h, section, setTitle, statusBadge, table} from '../dom.js';
import {lineChart, topology} from '../plots.js';
import {reservationsSection} from '../reservations.js';

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function topologySection(device, calibration) {
  const twin = device.twin;
  if (!twin || !calibration) return null;
  const qubitError = (calibration.qubits || []).map((q) => (q.readout_p01 + q.readout_p10) / 2);
  const edgeError = {};
  for (const g of calibration.gates || []) if (g.qubits.length === 2) edgeError[`${g.qubits[0]}-${g.qubits[1]}`] = g.error;
  return section('Topology', topology(twin.num_qubits, twin.edges || [], qubitError, edgeError));
}

function historySection(history) {
  if (!history.length) return null;
  const points = (f) => history.map((c) => [new Date(c.valid_at || c.taken_at), f(c)]);
  const oneQ = (c) => mean(c.gates.filter((g) => g.qubits.length === 1 && g.error > 0).map((g) => g.error));
  const twoQ = (c) => mean(c.gates.filter((g) => g.qubits.length === 2).map((g) => g.error));
  return section('Calibration history',
    lineChart([
      {name: 'mean T1', points: points((c) => mean(c.qubits.map((q) => q.t1_us)))},
      {name: 'mean T2', points: points((c) => mean(c.qubits.map((q) => q.t2_us)))},
    ], {label: 'Coherence times (µs)', unit: 'µs'}),
    lineChart([
      {name: '1-qubit gate error', points: points(oneQ)},
      {name: '2-qubit gate error', points: points(twoQ)},
      {name: 'readout error', points: points((c) => mean(c.qubits.map((q) => (q.readout_p01 + q.readout_p10) / 2)))},
    ], {label: 'Mean errors', log: true}),
    table('Recalibrations', [['Snapshot', (c) => h('span', {class: 'mono'}, c.id)], ['Taken (UTC)', (c) => fmtTime(c.taken_at)], ['Reason', (c) => c.reason]], history.slice(0, 10)));
}

function telemetrySection(telemetry) {
  if (!telemetry || !(telemetry.channels || []).length) return null;
  const times = telemetry.times.map((t) => new Date(t));
  return section('Cryostat telemetry', telemetry.channels.map((ch) => lineChart(
    [{name: `${ch.name} (${ch.unit})`, points: times.map((t, i) => [t, ch.values[i]])}],
    {label: `${ch.name}, last 6 hours`, unit: ch.unit})));
}

function dryRunSection(device) {
  const out = h('div', {role: 'status'});
  const form = h('form', {class: 'stack', id: 'dry-run'},
    h('label', {for: 'dry-program'}, 'Program (OpenQASM 2 or 3, OriginIR)'),
    h('textarea', {id: 'dry-program', rows: 6, required: true, spellcheck: 'false'},
      'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;'),
    h('label', {for: 'dry-shots'}, 'Shots'),
    h('input', {id: 'dry-shots', type: 'number', min: 1, value: 1000}),
    h('button', {type: 'submit'}, 'Estimate'), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const estimate = await api('/v1/jobs:dry-run', {method: 'POST', body: {
        device: device.name, shots: Number(form.querySelector('#dry-shots').value),
        programs: [form.querySelector('#dry-program').value]}});
      fill(out, facts(Object.entries(estimate).filter(([, v]) => typeof v !== 'object')
        .map(([k, v]) => [k, typeof v === 'number' ? fmtNumber(v) : String(v)])),
      h('details', {}, h('summary', {}, 'Whole estimate'), h('pre', {class: 'code', tabindex: 0}, JSON.stringify(estimate, null, 1))));
    } catch (e) { fill(out, errorBox(e)); }
  });
  return section('Dry run', h('p', {class: 'muted'}, 'Checks and compiles a program for this device and estimates its device time; nothing is queued.'), form);
}

function operatorSection(device) {
  const out = h('div', {role: 'status', id: 'operator-status'});
  const now = new Date();
  const local = (d) => d.toISOString().slice(0, 16);
  const form = h('form', {class: 'stack', id: 'maintenance'},
    h('label', {for: 'm-start'}, 'Start (UTC)'), h('input', {id: 'm-start', type: 'datetime-local', value: local(now), required: true}),
    h('label', {for: 'm-end'}, 'End (UTC)'), h('input', {id: 'm-end', type: 'datetime-local', value: local(new Date(now.getTime() + 3600e3)), required: true}),
    h('label', {for: 'm-reason'}, 'Reason'), h('input', {id: 'm-reason', type: 'text', value: 'maintenance'}),
    h('button', {type: 'submit'}, 'Plan maintenance'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api(`/v1/devices/${encodeURIComponent(device.name)}/maintenance`, {method: 'POST', body: {
        start: `${form.querySelector('#m-start').value}:00Z`, end: `${form.querySelector('#m-end').value}:00Z`,
        reason: form.querySelector('#m-reason').value}});
      location.reload();
    } catch (e) { fill(out, errorBox(e)); }
  });
  const buttons = device.twin ? h('div', {class: 'actions'},
    h('button', {type: 'button', id: 'fault', onclick: async () => {
      try {
        await api(`/v1/devices/${encodeURIComponent(device.name)}/faults`, {method: 'POST', body: {}});
        out.textContent = 'Warm-up injected.';
      } catch (e) { fill(out, errorBox(e)); }
    }}, 'Inject a cryostat warm-up'),
    h('button', {type: 'button', id: 'recalibrate', onclick: async () => {
      try {
        await api(`/v1/devices/${encodeURIComponent(device.name)}/calibration:run`, {method: 'POST'});
        out.textContent = 'Recalibration started.';
      } catch (e) { fill(out, errorBox(e)); }
    }}, 'Recalibrate now')) : null;
  return section('Operate', form, buttons, out);
}

export async function devicePage(main, mePromise, name) {
  setTitle(`Device ${name}`);
  const path = `/v1/devices/${encodeURIComponent(name)}`;
  let device;
  try {
    device = await api(path);
  } catch (e) {
    fill(main, h('h1', {}, `Device ${name}`), errorBox(e));
    return;
  }
  const twin = Boolean(device.twin);
  const end = new Date();
  const start = new Date(end.getTime() - 6 * 3600e3);
  const [calibration, history, telemetry, me] = await Promise.all([
    twin ? api(`${path}/calibration`) : null,
    twin ? api(`${path}/calibrations?limit=100`).then((x) => x.calibrations.reverse()) : [],
    twin ? api(`${path}/telemetry?start=${start.toISOString()}&end=${end.toISOString()}&step_s=300`) : null,
    mePromise,
  ]);
  fill(main, h('h1', {}, `Device ${device.name}`),
    section('Status and queue', facts([
      ['Status', [statusBadge(device.status), device.status_reason ? ` ${device.status_reason}` : '']],
      device.status_until ? ['Expected back', fmtTime(device.status_until)] : null,
      ['Queued jobs', h('a', {href: `/jobs?device=${encodeURIComponent(device.name)}&status=QUEUED`}, String(device.queue_length))],
      ['Running jobs', String(device.running)], ['Kind', device.kind], ['Qubits', String(device.max_qubits)],
      ['Native gates', (device.basis_gates || []).join(' ')], ['Description', device.description],
    ])),
    section('Maintenance windows', table('Planned maintenance (UTC)', [
      ['Start', (w) => fmtTime(w.start)], ['End', (w) => fmtTime(w.end)], ['Reason', (w) => w.reason]],
    device.maintenance || [], {empty: 'No maintenance planned.'})),
    reservationsSection({me, device: device.name}),
    topologySection(device, calibration), historySection(history), telemetrySection(telemetry),
    dryRunSection(device), me.is_admin ? operatorSection(device) : null);
}
