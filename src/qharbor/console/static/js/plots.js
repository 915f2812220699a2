// Charts drawn as inline SVG: histograms, error bars, time series and device topology.

import {fmtNumber, h, s} from './dom.js';

const PALETTE = ['#1f5fa8', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207'];

function figure(label, svg, caption) {
  return h('figure', {class: 'chart'}, svg, caption ? h('figcaption', {}, caption) : null);
}

/** Counts as a bar chart, bitstrings on the x axis (the 64 most frequent). */
export function histogram(counts, {label = 'Counts'} = {}) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 64)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...entries.map(([, c]) => c));
  const bar = Math.max(8, Math.min(48, Math.floor(640 / Math.max(1, entries.length))));
  const width = 60 + entries.length * bar;
  const height = 240;
  const plot = 180;
  const svg = s('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `${label}: ${entries.map(([k, c]) => `${k} ${c}`).join(', ')}`, class: 'histogram'});
  svg.append(s('line', {x1: 50, y1: 10, x2: 50, y2: 10 + plot, stroke: '#666'}));
  svg.append(s('text', {x: 45, y: 14, 'text-anchor': 'end', class: 'axis'}, String(max)));
  svg.append(s('text', {x: 45, y: 10 + plot, 'text-anchor': 'end', class: 'axis'}, '0'));
  entries.forEach(([key, count], i) => {
    const barHeight = (count / max) * plot;
    const x = 55 + i * bar;
    svg.append(s('rect', {x, y: 10 + plot - barHeight, width: bar - 3, height: barHeight,
      fill: PALETTE[0], class: 'bar', 'data-key': key, 'data-count': count},
    s('title', {}, `${key}: ${count} (${fmtNumber(count / Math.max(1, total))})`)));
    if (entries.length <= 32) {
      svg.append(s('text', {x: x + (bar - 3) / 2, y: 10 + plot + 14, 'text-anchor': 'middle',
        class: 'axis mono', transform: bar < 24 ? `rotate(60 ${x + (bar - 3) / 2} ${10 + plot + 14})` : null}, key));
    }
  });
  const shown = Object.keys(counts).length > entries.length ? ` (the ${entries.length} most frequent)` : '';
  return figure(label, svg, `${label} of ${total} shots${shown}`);
}

/** Values with ± error bars, one per label. */
export function errorBars(values, errors, labels, {label = 'Expectation values'} = {}) {
  const lo = Math.min(-1, ...values.map((v, i) => v - (errors[i] || 0)));
  const hi = Math.max(1, ...values.map((v, i) => v + (errors[i] || 0)));
  const width = 80 + values.length * 40;
  const height = 220;
  const y = (v) => 10 + ((hi - v) / (hi - lo)) * 180;
  const svg = s('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'errorbars',
    'aria-label': `${label}: ${values.map((v, i) => `${labels[i]} ${fmtNumber(v)} ± ${fmtNumber(errors[i] || 0)}`).join(', ')}`});
  svg.append(s('line', {x1: 60, x2: width - 10, y1: y(0), y2: y(0), stroke: '#999', 'stroke-dasharray': '4 3'}));
  for (const v of [lo, 0, hi]) svg.append(s('text', {x: 55, y: y(v) + 4, 'text-anchor': 'end', class: 'axis'}, fmtNumber(v)));
  values.forEach((value, i) => {
    const x = 80 + i * 40;
    const e = errors[i] || 0;
    svg.append(s('line', {x1: x, x2: x, y1: y(value + e), y2: y(value - e), stroke: PALETTE[1], 'stroke-width': 2}));
    svg.append(s('line', {x1: x - 6, x2: x + 6, y1: y(value + e), y2: y(value + e), stroke: PALETTE[1]}));
    svg.append(s('line', {x1: x - 6, x2: x + 6, y1: y(value - e), y2: y(value - e), stroke: PALETTE[1]}));
    svg.append(s('circle', {cx: x, cy: y(value), r: 4, fill: PALETTE[0]}, s('title', {}, `${labels[i]}: ${value} ± ${e}`)));
    svg.append(s('text', {x, y: 205, 'text-anchor': 'middle', class: 'axis'}, labels[i]));
  });
  return figure(label, svg, `${label} with one-standard-error bars`);
}

/** Horizontal bars: [label, value] pairs, e.g. timings by stage. */
export function hbars(pairs, {label = 'Timings', unit = 's'} = {}) {
  const max = Math.max(1e-12, ...pairs.map(([, v]) => v));
  const height = 20 + pairs.length * 26;
  const svg = s('svg', {viewBox: `0 0 520 ${height}`, width: 520, height, role: 'img', class: 'hbars',
    'aria-label': `${label}: ${pairs.map(([k, v]) => `${k} ${fmtNumber(v)} ${unit}`).join(', ')}`});
  pairs.forEach(([name, value], i) => {
    const y = 10 + i * 26;
    svg.append(s('text', {x: 100, y: y + 14, 'text-anchor': 'end', class: 'axis'}, name));
    svg.append(s('rect', {x: 108, y, width: Math.max(1, (value / max) * 330), height: 18, fill: PALETTE[i % PALETTE.length]}));
    svg.append(s('text', {x: 112 + (value / max) * 330, y: y + 14, class: 'axis'}, `${fmtNumber(value)} ${unit}`));
  });
  return figure(label, svg, null);
}

/** Time series: series = [{name, points: [[Date, value], ...]}]. */
export function lineChart(series, {label = 'Values', unit = '', log = false} = {}) {
  const width = 640;
  const height = 240;
  const all = series.flatMap((x) => x.points).filter(([, v]) => v !== null && Number.isFinite(v) && (!log || v > 0));
  if (!all.length) return h('p', {class: 'muted'}, `${label}: no data yet.`);
  const tx = (t) => t.getTime();
  const t0 = Math.min(...all.map(([t]) => tx(t)));
  const t1 = Math.max(...all.map(([t]) => tx(t)), t0 + 1);
  const f = log ? Math.log10 : (v) => v;
  let v0 = Math.min(...all.map(([, v]) => f(v)));
  let v1 = Math.max(...all.map(([, v]) => f(v)));
  if (v1 - v0 < 1e-12) { v0 -= 0.5; v1 += 0.5; }
  const x = (t) => 70 + ((tx(t) - t0) / (t1 - t0)) * (width - 90);
  const y = (v) => 15 + ((v1 - f(v)) / (v1 - v0)) * (height - 55);
  const svg = s('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'linechart',
    'aria-label': `${label} over time: ${series.map((x) => x.name).join(', ')}`});
  svg.append(s('line', {x1: 70, x2: 70, y1: 15, y2: height - 40, stroke: '#666'}));
  svg.append(s('line', {x1: 70, x2: width - 20, y1: height - 40, y2: height - 40, stroke: '#666'}));
  for (const v of [v0, (v0 + v1) / 2, v1]) {
    const shown = log ? 10 ** v : v;
    svg.append(s('text', {x: 65, y: y(shown) + 4, 'text-anchor': 'end', class: 'axis'}, `${fmtNumber(shown)}${unit ? ' ' + unit : ''}`));
  }
  for (const t of [t0, t1]) {
    svg.append(s('text', {x: x(new Date(t)), y: height - 22, 'text-anchor': t === t0 ? 'start' : 'end', class: 'axis'},
      new Date(t).toISOString().slice(5, 16).replace('T', ' ')));
  }
  series.forEach((line, i) => {
    const points = line.points.filter(([, v]) => v !== null && Number.isFinite(v) && (!log || v > 0));
    if (!points.length) return;
    const colour = PALETTE[i % PALETTE.length];
    svg.append(s('polyline', {points: points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
      fill: 'none', stroke: colour, 'stroke-width': 2}));
    if (points.length < 60) points.forEach(([t, v]) => svg.append(s('circle', {cx: x(t), cy: y(v), r: 2.5, fill: colour})));
  });
  const legend = h('ul', {class: 'legend'}, series.map((line, i) =>
    h('li', {}, h('span', {class: `swatch swatch-${i % PALETTE.length}`, 'aria-hidden': 'true'}), line.name)));
  return h('figure', {class: 'chart'}, svg, h('figcaption', {}, label, legend));
}

/** A colour from green (good) to red (bad) for a value between lo and hi. */
export function heat(value, lo, hi) {
  if (value === null || value === undefined) return '#9ca3af';
  const t = Math.max(0, Math.min(1, (value - lo) / Math.max(1e-12, hi - lo)));
  const hue = Math.round(130 * (1 - t));
  return `hsl(${hue} 70% 40%)`;
}

/** Positions for a coupling graph: a small force-directed layout, the same every time. */
function layout(n, edges) {
  const pos = Array.from({length: n}, (_, i) => [Math.cos((2 * Math.PI * i) / n), Math.sin((2 * Math.PI * i) / n)]);
  const side = Math.ceil(Math.sqrt(n));
  const grid = edges.every(([a, b]) => Math.abs(a - b) === 1 || Math.abs(a - b) === side);
  if (grid && n > 4) return pos.map((_, i) => [i % side, Math.floor(i / side)]);
  for (let step = 0; step < 300; step++) {
    const force = pos.map(() => [0, 0]);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      const dx = pos[i][0] - pos[j][0];
      const dy = pos[i][1] - pos[j][1];
      const d2 = Math.max(1e-4, dx * dx + dy * dy);
      const push = 0.05 / d2;
      force[i][0] += dx * push; force[i][1] += dy * push;
      force[j][0] -= dx * push; force[j][1] -= dy * push;
    }
    for (const [a, b] of edges) {
      const dx = pos[a][0] - pos[b][0];
      const dy = pos[a][1] - pos[b][1];
      const pull = 0.1 * (Math.sqrt(dx * dx + dy * dy) - 0.5);
      force[a][0] -= dx * pull; force[a][1] -= dy * pull;
      force[b][0] += dx * pull; force[b][1] += dy * pull;
    }
    pos.forEach((p, i) => { p[0] += force[i][0]; p[1] += force[i][1]; });
  }
  return pos;
}

/** The coupling graph; qubits coloured by readout error, couplers by two-qubit gate error. */
export function topology(numQubits, edges, qubitError, edgeError) {
  const pos = layout(numQubits, edges);
  const xs = pos.map((p) => p[0]);
  const ys = pos.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const width = 480;
  const scale = (width - 60) / Math.max(1e-9, x1 - x0, y1 - y0);
  const height = Math.max(120, (y1 - y0) * scale + 60);
  const px = (p) => [30 + (p[0] - x0) * scale, 30 + (p[1] - y0) * scale];
  const qErr = qubitError.filter((v) => v !== null);
  const eErr = Object.values(edgeError).filter((v) => v !== null);
  const [qlo, qhi] = [Math.min(...qErr, 0), Math.max(...qErr, 1e-9)];
  const [elo, ehi] = [Math.min(...eErr, 0), Math.max(...eErr, 1e-9)];
  const svg = s('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'topology',
    'aria-label': `Coupling map of ${numQubits} qubits and ${edges.length} couplers, coloured by error from green (low) to red (high)`});
  for (const [a, b] of edges) {
    const [ax, ay] = px(pos[a]);
    const [bx, by] = px(pos[b]);
    const err = edgeError[`${a}-${b}`] ?? edgeError[`${b}-${a}`] ?? null;
    svg.append(s('line', {x1: ax, y1: ay, x2: bx, y2: by, stroke: heat(err, elo, ehi), 'stroke-width': 5, class: 'coupler'},
      s('title', {}, `coupler ${a}–${b}: error ${fmtNumber(err)}`)));
  }
  pos.forEach((p, q) => {
    const [cx, cy] = px(p);
    svg.append(s('g', {class: 'qubit'},
      s('circle', {cx, cy, r: 11, fill: heat(qubitError[q], qlo, qhi), stroke: '#111'}),
      s('text', {x: cx, y: cy + 4, 'text-anchor': 'middle', class: 'qlabel'}, String(q)),
      s('title', {}, `qubit ${q}: readout error ${fmtNumber(qubitError[q])}`)));
  });
  return figure('Topology', svg, `Qubits coloured by readout error (${fmtNumber(qlo)}–${fmtNumber(qhi)}), couplers by two-qubit gate error (${fmtNumber(elo)}–${fmtNumber(ehi)}); green is better.`);
}
