// One job: its programs and circuits, result, timings, engine, calibration and signature.

import {api, ApiError} from '../api.js';
import {download, errorBox, facts, fill, fmtNumber, fmtSeconds, fmtTime, h, progressOf, section, setTitle, statusBadge, table} from '../dom.js';
import {errorBars, hbars, histogram} from '../plots.js';
import {verifyResult} from '../verify.js';

const FINAL = ['DONE', 'FAILED', 'CANCELLED'];

function countsOf(result) {
  return (result.experiments || []).filter((e) => e && e.counts).map((e, i) => [e.name || `experiment ${i}`, e.counts]);
}

function expectationsOf(result) {
  const lists = [result.pubs, result.pub_results, result.results, result.experiments].filter(Array.isArray);
  const found = [];
  for (const list of lists) for (const [i, pub] of list.entries()) {
    if (pub && Array.isArray(pub.evs)) found.push([`PUB ${i}`, [pub.evs].flat(Infinity), [pub.stds || []].flat(Infinity)]);
  }
  return found;
}

function resultSection(result) {
  const parts = [];
  for (const [name, counts] of countsOf(result)) parts.push(h('h3', {}, name), histogram(counts, {label: `Counts, ${name}`}));
  for (const [name, evs, stds] of expectationsOf(result)) {
    parts.push(h('h3', {}, name), errorBars(evs, stds, evs.map((_, i) => String(i)), {label: `Expectation values, ${name}`}));
  }
  if (!parts.length) parts.push(h('pre', {class: 'code', tabindex: 0}, JSON.stringify(result, null, 1).slice(0, 5000)));
  return section('Result', parts);
}

function timingsSection(result) {
  const timings = result.timings || {};
  const order = ['queued_s', 'compile_s', 'run_s', 'qpu_s', 'total_s'];
  const pairs = Object.entries(timings).filter(([, v]) => typeof v === 'number')
    .sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([k, v]) => [k.replace(/_s$/, ''), v]);
  return section('Timings by stage', hbars(pairs, {label: 'Seconds by stage'}),
    table('Timings', [['Stage', (r) => r[0]], ['Time', (r) => fmtSeconds(r[1])]], pairs));
}

function engineSection(result) {
  const m = result.metadata || {};
  return section('Engine', facts([
    ['Engine', m.engine], ['Method', m.method], ['Why', m.engine_reason], ['Precision', m.precision],
    ['Seed', m.seed], ['Attempt', m.attempt],
    ['Versions', Object.entries(m.versions || {}).map(([k, v]) => `${k} ${v}`).join(', ')],
  ]));
}

async function calibrationSection(job, result) {
  const m = result.metadata || {};
  const id = m.calibration_snapshot_id || (m.calibration && m.calibration.snapshot);
  if (!id) return section('Calibration', h('p', {class: 'muted'}, 'This device has no calibration (an exact simulator).'));
  const snapshot = await api(`/v1/devices/${encodeURIComponent(job.device)}/calibration?snapshot=${encodeURIComponent(id)}`);
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const qubits = snapshot.qubits || [];
  const gates = snapshot.gates || [];
  return section('Calibration', facts([
    ['Snapshot', h('span', {class: 'mono'}, id)], ['Taken', fmtTime(snapshot.taken_at)], ['Reason', snapshot.reason],
    ['Mean T1', `${fmtNumber(mean(qubits.map((q) => q.t1_us)))} µs`],
    ['Mean T2', `${fmtNumber(mean(qubits.map((q) => q.t2_us)))} µs`],
    ['Mean readout error', fmtNumber(mean(qubits.map((q) => (q.readout_p01 + q.readout_p10) / 2)))],
    ['Mean 1-qubit gate error', fmtNumber(mean(gates.filter((g) => g.qubits.length === 1).map((g) => g.error)))],
    ['Mean 2-qubit gate error', fmtNumber(mean(gates.filter((g) => g.qubits.length === 2).map((g) => g.error)))],
  ]), h('p', {}, h('a', {href: `/devices/${encodeURIComponent(job.device)}`}, `The device ${job.device} now`)));
}

async function signatureSection(job, result) {
  const body = h('div', {id: 'signature'}, h('p', {class: 'muted'}, 'Verifying…'));
  const done = (async () => {
    if (job.result_sealed || !result.signature) {
      fill(body, h('p', {}, 'The result is sealed to your key; verify it with the SDK after opening it.'));
      return;
    }
    try {
      const [signed, keys] = await Promise.all([api(`/console/api/jobs/${job.id}/signed`), api('/v1/keys')]);
      const check = verifyResult(job.id, result, signed, keys);
      fill(body, h('p', {class: check.ok ? 'verified' : 'not-verified', 'data-verified': String(check.ok)},
        check.ok ? '✔ Verified in this browser: ' : '✘ NOT verified: ', check.reason),
      facts([['Algorithm', signed.algorithm], ['Key', h('span', {class: 'mono'}, signed.key_id)],
        ['Input hash', h('span', {class: 'mono'}, (result.signature.context || {}).input_hash)]]));
    } catch (e) {
      fill(body, h('p', {class: 'not-verified', 'data-verified': 'false'}, '✘ NOT verified: ', e.message));
    }
  })();
  return [section('Signature', body), done];
}

async function circuitsSection(job) {
  const data = await api(`/console/api/jobs/${job.id}/circuits`);
  const parts = [];
  if (data.sealed) parts.push(h('p', {class: 'muted'}, 'The programs are sealed: only the workers open them.'));
  for (const p of data.programs) {
    parts.push(h('h3', {}, `Program ${p.index}${p.name ? ` (${p.name})` : ''}, ${p.format}`),
      h('details', {}, h('summary', {}, 'Source'), h('pre', {class: 'code', tabindex: 0}, p.source)),
      p.drawing ? h('pre', {class: 'circuit', tabindex: 0, 'aria-label': `Program ${p.index} drawn`}, p.drawing)
        : h('p', {class: 'muted'}, p.drawing_error));
  }
  for (const c of data.compiled) {
    parts.push(h('h3', {}, `Compiled circuit, experiment ${c.experiment}`),
      c.drawing ? h('pre', {class: 'circuit', tabindex: 0, 'aria-label': `Compiled circuit ${c.experiment} drawn`}, c.drawing)
        : h('pre', {class: 'code', tabindex: 0}, c.qasm3));
  }
  return [section('Programs and circuits', parts), data];
}

function actions(job, circuits, resultText, main) {
  const message = h('p', {role: 'status', class: 'muted'});
  const buttons = [];
  if (!FINAL.includes(job.status)) {
    buttons.push(h('button', {type: 'button', id: 'cancel', onclick: async () => {
      try {
        await api(`/v1/jobs/${job.id}/cancel`, {method: 'POST'});
        message.textContent = 'Cancel requested.';
      } catch (e) { fill(message, errorBox(e)); }
    }}, 'Cancel job'));
  }
  if (resultText) {
    buttons.push(h('button', {type: 'button', id: 'download', onclick: () => download(`${job.id}-result.json`, resultText)}, 'Download result'));
  }
  if (circuits && circuits.programs.length && job.kind === 'circuits') {
    buttons.push(h('button', {type: 'button', id: 'rerun', onclick: async () => {
      try {
        const again = await api('/v1/jobs', {method: 'POST', body: {
          device: job.device, shots: job.shots, tags: job.tags, options: job.options,
          programs: circuits.programs.map((p) => ({source: p.source, format: p.format, ...(p.name ? {name: p.name} : {})})),
        }});
        location.assign(`/jobs/${again.id}`);
      } catch (e) { fill(message, errorBox(e)); }
    }}, 'Re-run'));
  }
  return h('div', {class: 'actions'}, buttons, message);
}

export async function jobPage(main, mePromise, jobId) {
  setTitle(`Job ${jobId.slice(0, 12)}`);
  let job;
  try {
    job = await api(`/v1/jobs/${encodeURIComponent(jobId)}`);
  } catch (e) {
    fill(main, h('h1', {}, 'Job'), errorBox(e));
    return;
  }
  const summary = section('Job', facts([
    ['Id', h('span', {class: 'mono'}, job.id)], ['Status', statusBadge(job.status)], ['Device', job.device],
    ['Kind', job.kind], ['Shots', job.shots], ['Tags', (job.tags || []).join(', ')],
    ['Session', job.session_id], ['Created', fmtTime(job.created_at)], ['Started', fmtTime(job.started_at)],
    ['Finished', fmtTime(job.finished_at)],
    job.progress ? ['Progress', h('span', {id: 'job-progress'}, progressOf(job))] : null,
    job.waiting_reason ? ['Waiting', job.waiting_reason] : null,
    job.estimated_start ? ['Expected to start', fmtTime(job.estimated_start)] : null,
    job.error ? ['Error', `${job.error.code}: ${job.error.message}`] : null,
  ]));
  const [circuits, circuitData] = await circuitsSection(job).catch((e) => [section('Programs and circuits', errorBox(e)), null]);
  let result = null;
  let resultText = null;
  if (job.status === 'DONE') {
    const answer = await api(`/v1/jobs/${job.id}/result`, {raw: true});
    result = answer.data;
    resultText = answer.text;
  }
  const parts = [h('h1', {}, 'Job ', h('span', {class: 'mono'}, job.id.slice(0, 12))), summary,
    actions(job, circuitData, resultText, main), circuits];
  let verifying = null;
  if (result) {
    const [signature, done] = await signatureSection(job, result);
    verifying = done;
    parts.push(resultSection(result), timingsSection(result), engineSection(result),
      await calibrationSection(job, result).catch((e) => section('Calibration', errorBox(e))), signature);
  }
  fill(main, ...parts);
  if (verifying) await verifying;
  if (!FINAL.includes(job.status)) {
    const events = new EventSource(`/v1/jobs/${job.id}/events`);
    events.addEventListener('status', (event) => {
      const now = JSON.parse(event.data);
      if (now.status !== job.status || (now.progress && !job.progress)) {
        events.close();
        jobPage(main, mePromise, jobId);
      } else if (now.progress) {
        const shown = document.getElementById('job-progress');
        if (shown) fill(shown, progressOf(now));
      }
    });
    window.addEventListener('pagehide', () => events.close());
  }
}
