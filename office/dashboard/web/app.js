// The dashboard's page: reads the JSON of /api/* and draws it; charts by
// Chart.js (vendored, see vendor/VENDOR.md).
'use strict';

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString('en');
const pct = (x) => (100 * x).toFixed(1) + '%';
const charts = {};

// api fetches JSON; without a session the page goes back to the login.
async function api(path) {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (r.status === 401) { location.reload(); throw new Error('logged out'); }
  if (!r.ok) throw new Error((await r.text()).trim() || r.statusText);
  return r.json();
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return e;
}

function ago(now, t) {
  if (!t || t.startsWith('0001-')) return 'never';
  const s = (new Date(now) - new Date(t)) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 172800) return Math.floor(s / 3600) + ' h ago';
  return Math.floor(s / 86400) + ' days ago';
}

// --- tabs ---
function show() {
  const tab = (location.hash || '#fleet').slice(1);
  for (const t of ['fleet', 'numbers', 'quarantine']) {
    $(t).hidden = t !== tab;
    $('tab-' + t).classList.toggle('active', t === tab);
  }
}

// --- fleet ---
async function loadFleet() {
  const f = await api('/api/fleet');
  const rows = f.Boxes.map((b) => {
    const health = el('div', { class: 'health' }, (b.Health || []).map(([k, v]) => k + ' ' + v).join(' · ') || '-');
    const alerts = el('td', { class: 'alerts' });
    for (const a of b.Alerts || []) alerts.append(el('span', { class: 'alert ' + a.Severity }, a.Text));
    const outbox = b.Pending == null ? '-' : fmt(b.Pending) + ' waiting' + (b.Dropped ? ', ' + fmt(b.Dropped) + ' dropped' : '');
    const today = b.Day ? `${fmt(b.BoxVisits)} / ${fmt(b.OfficeVisits)} (${b.Day})` : '-';
    return el('tr', { 'data-box': b.Site + '/' + b.Device },
      el('td', {}, b.Site), el('td', {}, b.Device),
      el('td', {}, el('span', { class: 'state ' + b.State }, b.State + (b.Reason ? ' (' + b.Reason + ')' : ''))),
      el('td', {}, ago(f.Now, b.LastSeen)), el('td', {}, b.Version || '-'), el('td', {}, health),
      el('td', {}, outbox), el('td', { class: 'num' }, today), alerts);
  });
  $('boxes').replaceChildren(...rows);
  const by = (s) => f.Boxes.filter((b) => b.State === s).length;
  $('fleet-summary').textContent = `${f.Boxes.length} boxes: ${by('online')} online, ${by('offline')} offline, ${by('unknown')} without a status; ${f.Alerts} alert${f.Alerts === 1 ? '' : 's'}.`;
  $('alert-count').hidden = f.Alerts === 0;
  $('alert-count').textContent = f.Alerts;
  if (f.Collector) {
    const c = f.Collector;
    $('collector').textContent = `collector ${c.ClientID}${c.Group ? ' (group ' + c.Group + ')' : ''}: ${c.Connected ? 'connected to' : 'NOT connected to'} ${c.Broker}, ${fmt(c.Stored)} visits stored`;
  }
}

// --- numbers ---
function dayAdd(day, n) {
  const d = new Date(day + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function daysBetween(a, b) {
  return Math.round((new Date(b + 'T00:00:00Z') - new Date(a + 'T00:00:00Z')) / 86400000);
}

function query(withCompare) {
  const p = new URLSearchParams();
  const from = $('from').value, to = $('to').value;
  if (from) p.set('from', from);
  if (to) p.set('to', to);
  for (const c of document.querySelectorAll('#sites input:checked')) p.append('site', c.value);
  const how = $('compare').value;
  if (withCompare && how && from && to) {
    if (how === 'previous') {
      const n = daysBetween(from, to) + 1;
      p.set('cfrom', dayAdd(from, -n));
      p.set('cto', dayAdd(from, -1));
    } else {
      p.set('cfrom', dayAdd(from, -364));
      p.set('cto', dayAdd(to, -364));
    }
  }
  return p;
}

function card(label, value, before, rate) {
  let delta = '';
  if (before != null) {
    if (rate) delta = 'before: ' + pct(before);
    else delta = before === 0 ? 'before: 0' : `before: ${fmt(before)} (${value >= before ? '+' : ''}${(100 * (value - before) / before).toFixed(0)}%)`;
  }
  return el('div', { class: 'card' }, el('div', { class: 'label' }, label),
    el('div', { class: 'value' }, rate ? pct(value) : fmt(value)), el('div', { class: 'delta' }, delta));
}

// fill gives every day of [from, to] its counts (0 without visits).
function fill(period) {
  const by = new Map(period.Days.map((d) => [d.Day, d]));
  const out = [];
  for (let d = period.From; d <= period.To; d = dayAdd(d, 1)) {
    out.push(by.get(d) || { Day: d, visits: 0, new_visitors: 0, returning: 0, regular_visits: 0 });
  }
  return out;
}

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), config);
}

async function loadNumbers(event) {
  if (event) event.preventDefault();
  let n;
  try {
    n = await api('/api/numbers?' + query(true));
    $('range-error').hidden = true;
  } catch (e) {
    $('range-error').textContent = e.message;
    $('range-error').hidden = false;
    return;
  }
  const p = n.Period, c = n.Compare;
  $('from').value = p.From;
  $('to').value = p.To;
  if (!$('sites').querySelector('input')) {
    for (const s of n.AllSites) {
      $('sites').append(el('label', {}, el('input', { type: 'checkbox', value: s }), s));
    }
  }
  $('csv').href = '/report.csv?' + query(false);
  const t = p.Total, ct = c ? c.Total : null;
  $('cards').replaceChildren(
    card('Visits', t.visits, ct && ct.visits), card('New visitors', t.new_visitors, ct && ct.new_visitors),
    card('Returning', t.returning, ct && ct.returning), card('Regular visits', t.regular_visits, ct && ct.regular_visits),
    card('Return rate', t.return_rate, ct && ct.return_rate, true));

  const days = fill(p);
  const datasets = [
    { type: 'bar', label: 'New visitors', data: days.map((d) => d.new_visitors), backgroundColor: '#8ab4f8', stack: 'v' },
    { type: 'bar', label: 'Returning', data: days.map((d) => d.returning), backgroundColor: '#1f6feb', stack: 'v' },
    { type: 'line', label: 'Regular visits', data: days.map((d) => d.regular_visits), borderColor: '#e37400', backgroundColor: '#e37400', pointRadius: 0, tension: 0.2 },
  ];
  if (c) {
    const before = fill(c);
    datasets.push({ type: 'line', label: `Visits ${c.From} to ${c.To}`, data: days.map((_, i) => (before[i] ? before[i].visits : null)),
      borderColor: '#5d6b7e', borderDash: [5, 4], pointRadius: 0, tension: 0.2 });
  }
  draw('chart-days', {
    data: { labels: days.map((d) => d.Day), datasets },
    options: { animation: false, maintainAspectRatio: false, interaction: { mode: 'index', intersect: false },
      scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true } } },
  });

  const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const hours = [...Array(24).keys()].map(String);
  const cells = [];
  let max = 1;
  p.Heatmap.forEach((row, wd) => row.forEach((v, h) => { cells.push({ x: String(h), y: weekdays[wd], v }); max = Math.max(max, v); }));
  draw('chart-heatmap', {
    type: 'matrix',
    data: { datasets: [{ label: 'Visits', data: cells,
      backgroundColor: (ctx) => `rgba(31, 111, 235, ${0.06 + 0.94 * ((ctx.raw && ctx.raw.v) || 0) / max})`,
      borderColor: '#fff', borderWidth: 1,
      width: ({ chart }) => (chart.chartArea || {}).width / 24 - 1,
      height: ({ chart }) => (chart.chartArea || {}).height / 7 - 1 }] },
    options: { animation: false, maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: () => '', label: (ctx) => `${ctx.raw.y} ${ctx.raw.x}:00: ${fmt(ctx.raw.v)} visits` } } },
      scales: { x: { type: 'category', labels: hours, offset: true, grid: { display: false } },
        y: { type: 'category', labels: [...weekdays].reverse(), offset: true, grid: { display: false } } } },
  });

  const before = new Map((c ? c.Sites : []).map((s) => [s.Site, s]));
  $('compare-head').hidden = $('change-head').hidden = !c;
  $('site-rows').replaceChildren(...p.Sites.map((s) => {
    const tr = el('tr', { 'data-site': s.Site }, el('td', {}, s.Site), el('td', { class: 'num' }, fmt(s.Devices)),
      el('td', { class: 'num' }, fmt(s.visits)), el('td', { class: 'num' }, fmt(s.new_visitors)), el('td', { class: 'num' }, fmt(s.returning)),
      el('td', { class: 'num' }, fmt(s.regular_visits)), el('td', { class: 'num' }, pct(s.return_rate)));
    if (c) {
      const b = before.get(s.Site);
      const v = b ? b.visits : 0;
      tr.append(el('td', { class: 'num' }, fmt(v)), el('td', { class: 'num' }, v ? `${s.visits >= v ? '+' : ''}${(100 * (s.visits - v) / v).toFixed(0)}%` : '-'));
    }
    return tr;
  }));
}

// --- quarantine ---
async function loadQuarantine() {
  const q = await api('/api/quarantine');
  $('quarantine-summary').textContent = q.Total === 0 ? 'Nothing quarantined: every message received was valid.' :
    `${fmt(q.Total)} distinct message${q.Total === 1 ? '' : 's'} kept aside (the latest ${q.Messages.length} below): stored as received, counted nowhere.`;
  $('quarantine-count').hidden = q.Total === 0;
  $('quarantine-count').textContent = q.Total;
  $('quarantined').replaceChildren(...q.Messages.map((m) => el('tr', {}, el('td', {}, m.Topic), el('td', {}, m.Reason),
    el('td', { class: 'num' }, fmt(m.Times)), el('td', {}, m.LastSeen.slice(0, 19).replace('T', ' ')), el('td', {}, el('pre', {}, m.Payload)))));
}

function refresh() {
  loadFleet().catch((e) => console.error(e));
  loadQuarantine().catch((e) => console.error(e));
}

window.addEventListener('hashchange', show);
document.addEventListener('DOMContentLoaded', () => {
  show();
  $('range').addEventListener('submit', loadNumbers);
  refresh();
  loadNumbers();
  setInterval(refresh, 10000);
});
