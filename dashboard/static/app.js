// The dashboard: counts, timeline and alerts of /v1/summary and /v1/alerts
// under the filters kept in the page's URL; new alerts from /v1/stream as
// they arrive; a banner from /v1/status when the store is degraded; the
// detail of one alert and the view of one entity.
//
// URL: /?severity=High&severity=Critical&source_type=kafka&entity=h1&since=24h&tz=local
// with the view in the fragment: #alert/<id>, #entity/<name>, or none.

import { getJSON, setToken, token, AuthError } from './api.js';
import { AlertStream } from './stream.js';
import { drawTimeline, severities } from './chart.js';
import { parseTime, formatTime, zoneName } from './time.js';
import { h, sevBadge, scalar, value, table, mitreOf, attackItem, modelsView } from './render.js';

const pageSize = 100;
const statusEvery = 2000; // ms between /v1/status polls
const summaryDelay = 500; // ms to gather live alerts before counting again
const maxRows = 2000; // live alerts beyond it push the oldest rows out
const $ = (id) => document.getElementById(id);

const state = {
  filters: { severity: [], source_type: '', entity: '', since: '' },
  tz: 'utc',
  view: { name: 'overview', arg: '' },
};

// The overview's data, replaced on every reload.
let gen = 0; // reload generation: answers of an older one are dropped
let alerts = []; // shown in the table, newest first
let ids = new Set();
let next = '';
let trimmed = false; // live alerts pushed rows out (and the cursor with them)
let selected = -1;
let live = null; // the AlertStream
let liveSince = []; // alerts the stream brought during a reload
let summaryTimer = 0;
let returnTo = ''; // the fragment Esc returns to from a detail view

// ---- URL <-> state

function readURL() {
  const q = new URLSearchParams(location.search);
  state.filters = {
    severity: q.getAll('severity').filter((s) => severities.includes(s)),
    source_type: q.get('source_type') || '',
    entity: q.get('entity') || '',
    since: q.get('since') || '',
  };
  state.tz = q.get('tz') === 'local' ? 'local' : 'utc';
  const frag = location.hash.replace(/^#/, '');
  const slash = frag.indexOf('/');
  const name = slash < 0 ? frag : frag.slice(0, slash);
  const arg = slash < 0 ? '' : safeDecode(frag.slice(slash + 1));
  if ((name === 'alert' || name === 'entity') && arg) {
    state.view = { name, arg };
  } else {
    state.view = { name: 'overview', arg: '' };
  }
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function search() {
  const q = new URLSearchParams();
  for (const s of state.filters.severity) {
    q.append('severity', s);
  }
  for (const k of ['source_type', 'entity', 'since']) {
    if (state.filters[k]) {
      q.set(k, state.filters[k]);
    }
  }
  if (state.tz === 'local') {
    q.set('tz', 'local');
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

function fragment(view) {
  return view.name === 'overview' ? '' : '#' + view.name + '/' + encodeURIComponent(view.arg);
}

// go changes the URL (a new history entry) and shows what it names.
function go(view) {
  const before = state.view;
  history.pushState(null, '', location.pathname + search() + fragment(view));
  state.view = view;
  route(before);
}

// apiParams are the filters the API calls carry; the entity view's entity
// replaces the entity filter.
function apiParams() {
  const q = new URLSearchParams();
  for (const s of state.filters.severity) {
    q.append('severity', s);
  }
  if (state.filters.source_type) {
    q.set('source_type', state.filters.source_type);
  }
  const entity = state.view.name === 'entity' ? state.view.arg : state.filters.entity;
  if (entity) {
    q.set('entity', entity);
  }
  if (state.filters.since) {
    q.set('since', state.filters.since);
  }
  return q;
}

// ---- views

let loadedKey = null; // the apiParams of the data on screen

function route(before) {
  const v = state.view;
  $('detail').hidden = v.name !== 'alert';
  $('overview').hidden = v.name === 'alert';
  syncForm();
  if (v.name === 'alert') {
    if (!before || before.name !== 'alert') {
      returnTo = before ? fragment(before) : '';
    }
    showDetail(v.arg);
    if (loadedKey === null) {
      reload();
    }
    return;
  }
  $('view-title').textContent = v.name === 'entity' ? 'Entity ' + v.arg : 'All alerts';
  $('back-all').hidden = v.name !== 'entity';
  const key = apiParams().toString();
  if (key !== loadedKey) {
    reload();
  } else {
    renderTable();
  }
}

function syncForm() {
  const f = state.filters;
  for (const box of document.querySelectorAll('#f-severity input')) {
    box.checked = f.severity.includes(box.value);
  }
  $('f-source').value = f.source_type;
  $('f-entity').value = state.view.name === 'entity' ? state.view.arg : f.entity;
  $('f-since').value = f.since;
  if ($('f-since').value !== f.since) {
    // a window the menu does not offer (typed into the URL): add it
    $('f-since').append(h('option', { value: f.since }, f.since));
    $('f-since').value = f.since;
  }
  $('tz').textContent = 'Times: ' + (state.tz === 'local' ? 'local' : 'UTC');
  $('time-head').textContent = 'Time (' + zoneName(state.tz) + ')';
}

function readForm() {
  state.filters = {
    severity: [...document.querySelectorAll('#f-severity input:checked')].map((b) => b.value),
    source_type: $('f-source').value.trim(),
    entity: $('f-entity').value.trim(),
    since: $('f-since').value,
  };
}

function showError(err) {
  if (err instanceof AuthError) {
    askToken(err);
    return;
  }
  $('error').textContent = String(err && err.message ? err.message : err);
  $('error').hidden = false;
}

// reload fetches the counts and the first page under the current filters
// and restarts the live stream. The stream starts first, so an alert
// stored while the page loads is in one or the other (shown once: ids).
async function reload() {
  const my = ++gen;
  const params = apiParams();
  loadedKey = params.toString();
  if (live) {
    live.stop();
  }
  liveSince = [];
  live = new AlertStream(params, {
    onAlert: (a) => {
      if (my === gen) {
        arrived(a);
      }
    },
    onState: (s) => {
      if (my === gen) {
        setLive(s);
      }
    },
    onAuth: askToken,
  });
  $('error').hidden = true;
  const listParams = new URLSearchParams(params);
  listParams.set('limit', String(pageSize));
  try {
    const [summary, page] = await Promise.all([
      getJSON('/v1/summary', params),
      getJSON('/v1/alerts', listParams),
    ]);
    if (my !== gen) {
      return;
    }
    const pageAlerts = Array.isArray(page.alerts) ? page.alerts : [];
    const pageIds = new Set(pageAlerts.map((a) => a.id));
    alerts = liveSince.filter((a) => !pageIds.has(a.id)).concat(pageAlerts);
    ids = new Set(alerts.map((a) => a.id));
    next = page.next || '';
    trimmed = false;
    selected = -1; // j selects the first row
    renderSummary(summary);
    renderTable();
    document.body.dataset.loaded = String(my);
  } catch (err) {
    if (my === gen) {
      showError(err);
    }
  }
}

async function loadMore() {
  if (!next) {
    return;
  }
  const my = gen;
  const q = apiParams();
  q.set('limit', String(pageSize));
  q.set('cursor', next);
  try {
    const page = await getJSON('/v1/alerts', q);
    if (my !== gen) {
      return;
    }
    for (const a of page.alerts || []) {
      if (!ids.has(a.id)) {
        ids.add(a.id);
        alerts.push(a);
      }
    }
    next = page.next || '';
    renderTable();
  } catch (err) {
    showError(err);
  }
}

// arrived takes one alert of the live stream.
function arrived(a) {
  if (a.id !== undefined && ids.has(a.id)) {
    return;
  }
  if (a.id !== undefined) {
    ids.add(a.id);
  }
  liveSince.push(a);
  alerts.unshift(a);
  if (selected >= 0) {
    selected++;
  }
  const body = $('alerts').tBodies[0];
  body.prepend(row(a, true));
  // A page left open on a busy store keeps its newest rows only; paging
  // on from there would leave a gap, so the cursor goes with them.
  while (alerts.length > maxRows) {
    const old = alerts.pop();
    ids.delete(old.id);
    body.lastElementChild.remove();
    next = '';
    trimmed = true;
    $('more').hidden = true;
    $('trimmed').hidden = false;
  }
  if (selected >= alerts.length) {
    selected = alerts.length - 1;
  }
  renumber();
  $('empty').hidden = true;
  recount();
}

// recount asks for the counts again within summaryDelay: at most once per
// delay however fast alerts arrive (a timer already set is kept, so a
// steady stream cannot postpone the count forever).
function recount() {
  if (!summaryTimer) {
    summaryTimer = setTimeout(() => {
      summaryTimer = 0;
      refreshSummary();
    }, summaryDelay);
  }
}

async function refreshSummary() {
  const my = gen;
  try {
    const summary = await getJSON('/v1/summary', apiParams());
    if (my === gen) {
      renderSummary(summary);
    }
  } catch (err) {
    showError(err);
  }
}

function setLive(s) {
  const el = $('live');
  el.dataset.state = s;
  el.textContent = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : 'paused';
}

let lastSummary = null; // the summary on screen, redrawn on a time zone change

function renderSummary(s) {
  lastSummary = s;
  const bySev = s.by_severity || {};
  const cards = [h('div', { class: 'card total', 'data-severity': 'total' },
    h('span', { class: 'label' }, 'Total'), h('span', { class: 'n' }, scalar(s.total ?? 0)))];
  for (const sev of severities) {
    const card = h('button', {
      type: 'button', class: 'card ' + 'sev-' + sev, 'data-severity': sev,
      title: 'Show only ' + sev, 'aria-pressed': String(state.filters.severity.includes(sev)),
    }, h('span', { class: 'label' }, sev), h('span', { class: 'n' }, scalar(bySev[sev] ?? 0)));
    card.addEventListener('click', () => {
      state.filters.severity = state.filters.severity.length === 1 && state.filters.severity[0] === sev ? [] : [sev];
      go(state.view.name === 'alert' ? { name: 'overview', arg: '' } : state.view);
    });
    cards.push(card);
  }
  $('cards').replaceChildren(...cards);
  const trunc = $('truncated');
  trunc.hidden = !s.truncated;
  trunc.textContent = s.truncated ? `Counted over the newest ${scalar(s.scanned)} alerts.` : '';
  drawTimeline($('timeline'), s.timeline, state.tz, bucketMs(s));
  $('bucket').textContent = bucketSize(bucketMs(s));
  countList($('by-source'), s.by_source_type, (k) => {
    state.filters.source_type = k;
    go(state.view);
  });
  countList($('by-entity'), s.by_entity, (k) => go({ name: 'entity', arg: k }));
  fillDatalist($('source-types'), s.by_source_type);
  fillDatalist($('entities'), s.by_entity);
}

// bucketMs is the timeline's bucket width: the summary's "bucket" (a Go
// duration such as "15m0s" or "1h0m0s"), else 0.
function bucketMs(s) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(typeof s.bucket === 'string' ? s.bucket : '');
  if (!m || !s.bucket) {
    return 0;
  }
  return ((Number(m[1] || 0) * 60 + Number(m[2] || 0)) * 60 + Number(m[3] || 0)) * 1000;
}

// bucketSize names the bucket width: "(per 15 min)".
function bucketSize(ms) {
  const min = Math.round(ms / 60000);
  if (min <= 0) {
    return '';
  }
  const size = min % 1440 === 0 ? min / 1440 + ' d' : min % 60 === 0 ? min / 60 + ' h' : min + ' min';
  return `(per ${size})`;
}

function countList(ul, counts, pick) {
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (entries.length === 0) {
    ul.replaceChildren(h('li', { class: 'note' }, 'none'));
    return;
  }
  ul.replaceChildren(...entries.map(([k, n]) => {
    const a = h('a', { href: '#', 'data-key': k }, k === '' ? '(none)' : k);
    a.addEventListener('click', (e) => {
      e.preventDefault();
      pick(k);
    });
    return h('li', {}, a, h('span', { class: 'n' }, scalar(n)));
  }));
}

function fillDatalist(dl, counts) {
  dl.replaceChildren(...Object.keys(counts || {}).sort().map((k) => h('option', { value: k })));
}

function renderTable() {
  if (state.view.name === 'entity') {
    const typed = alerts.find((a) => a.entity === state.view.arg && a.entity_type);
    $('view-title').textContent = 'Entity ' + state.view.arg + (typed ? ' (' + scalar(typed.entity_type) + ')' : '');
  }
  const body = $('alerts').tBodies[0];
  body.replaceChildren(...alerts.map((a) => row(a, false)));
  renumber();
  $('empty').hidden = alerts.length > 0;
  $('more').hidden = !next;
  $('trimmed').hidden = !trimmed;
  $('time-head').textContent = 'Time (' + zoneName(state.tz) + ')';
}

function renumber() {
  const rows = $('alerts').tBodies[0].rows;
  for (let i = 0; i < rows.length; i++) {
    rows[i].classList.toggle('selected', i === selected);
    rows[i].setAttribute('aria-selected', String(i === selected));
  }
}

function row(a, fresh) {
  const t = parseTime(a.timestamp);
  const source = a.source && typeof a.source === 'object' ? a.source.type : undefined;
  const tr = h('tr', { class: fresh ? 'fresh' : null, 'data-id': a.id === undefined ? '' : String(a.id) },
    h('td', { class: 'time', title: a.timestamp === undefined ? '' : String(a.timestamp) }, t ? formatTime(t, state.tz) : scalar(a.timestamp)),
    h('td', {}, sevBadge(a.severity)),
    h('td', { class: 'entity' }, scalar(a.entity)),
    h('td', {}, scalar(source)),
    h('td', {}, scalar(a.event_type)),
    h('td', { class: 'message' }, h('a', { href: '#alert/' + encodeURIComponent(String(a.id ?? '')) }, scalar(a.message) || '(no message)')),
    h('td', { class: 'num' }, a.prediction_score === undefined ? '' : scalar(a.prediction_score)));
  tr.addEventListener('click', (e) => {
    const rows = [...tr.parentNode.rows];
    selected = rows.indexOf(tr);
    renumber();
    if (e.target.closest('a')) {
      e.preventDefault();
      openSelected();
    }
  });
  tr.addEventListener('dblclick', openSelected);
  return tr;
}

function openSelected() {
  const a = alerts[selected];
  if (a && a.id !== undefined) {
    go({ name: 'alert', arg: String(a.id) });
  }
}

// ---- detail

let detailGen = 0;

async function showDetail(id) {
  const my = ++detailGen;
  $('detail-error').hidden = true;
  const known = alerts.find((a) => String(a.id) === id);
  if (known) {
    renderDetail(known);
  } else {
    renderDetail({ id });
  }
  try {
    const a = await getJSON('/v1/alerts/' + encodeURIComponent(id));
    if (my === detailGen && state.view.name === 'alert') {
      renderDetail(a);
    }
  } catch (err) {
    if (err instanceof AuthError) {
      askToken(err);
      return;
    }
    if (my === detailGen && !known) {
      $('detail-error').textContent = err.status === 404 ? 'No alert with id ' + id + ' among the stored alerts.' : String(err.message);
      $('detail-error').hidden = false;
    }
  }
}

const typed = ['id', 'timestamp', 'severity', 'entity', 'entity_type', 'event_type', 'source', 'message', 'prediction_score'];

function renderDetail(a) {
  $('detail-title').textContent = a.message ? String(a.message) : 'Alert ' + scalar(a.id);
  const dl = $('detail-fields');
  const t = parseTime(a.timestamp);
  const entity = a.entity === undefined ? null : h('a', { href: '#entity/' + encodeURIComponent(String(a.entity)) }, scalar(a.entity));
  const source = a.source && typeof a.source === 'object' && !Array.isArray(a.source) ? a.source : null;
  const items = [
    ['Time', t ? formatTime(t, state.tz) + ' ' + zoneName(state.tz) + ' (stored as ' + a.timestamp + ')' : scalar(a.timestamp)],
    ['Severity', sevBadge(a.severity)],
    ['Entity', entity],
    ['Entity type', scalar(a.entity_type)],
    ['Event type', scalar(a.event_type)],
    ['Source', source ? table(source) : (a.source === undefined ? '' : value(a.source))],
    ['Prediction score', a.prediction_score === undefined ? '' : scalar(a.prediction_score)],
    ['ID', h('code', {}, scalar(a.id))],
  ];
  dl.replaceChildren();
  for (const [k, v] of items) {
    if (v === '' || v === null) {
      continue;
    }
    dl.append(h('dt', {}, k), h('dd', { 'data-field': k }, v));
  }
  const used = new Set(typed);
  const mitre = mitreOf(a);
  $('detail-mitre').hidden = !mitre;
  if (mitre) {
    if (mitre.key) {
      used.add(mitre.key);
    } else {
      used.add('techniques');
      used.add('tactics');
    }
    $('tactics').replaceChildren(...(mitre.tactics.length ? mitre.tactics.map(attackItem) : [h('li', { class: 'note' }, 'none')]));
    $('techniques').replaceChildren(...(mitre.techniques.length ? mitre.techniques.map(attackItem) : [h('li', { class: 'note' }, 'none')]));
    if (Object.keys(mitre.rest).length) {
      $('tactics').parentNode.parentNode.append(value(mitre.rest));
    }
  }
  section('detail-features', 'features', a.features === undefined ? null : value(a.features));
  used.add('features');
  const models = a.models ?? a.model_scores;
  section('detail-models', 'models', models === undefined ? null : modelsView(models));
  used.add('models');
  used.add('model_scores');
  const other = {};
  for (const [k, v] of Object.entries(a)) {
    if (!used.has(k)) {
      other[k] = v;
    }
  }
  section('detail-other', 'other', Object.keys(other).length ? table(other) : null);
  $('raw').textContent = JSON.stringify(a, null, 2);
}

function section(id, inner, content) {
  $(id).hidden = !content;
  $(inner).replaceChildren(...(content ? [content] : []));
}

// ---- status banner

async function pollStatus() {
  try {
    const s = await getJSON('/v1/status');
    banner(s, null);
  } catch (err) {
    if (err instanceof AuthError) {
      askToken(err);
    } else {
      banner(null, err);
    }
  }
  setTimeout(pollStatus, statusEvery);
}

let lastStatus = null; // what the previous poll saw: kind and count

// tierName names a tier in the banner: its label and its (redacted) DSN
// without the parameters.
function tierName(t) {
  const dsn = String(t.dsn || '').split('?')[0];
  return t.name && !dsn.startsWith(String(t.name) + ':') ? `${t.name} (${dsn})` : dsn || String(t.name || 'a tier');
}

function banner(s, err) {
  const b = $('banner');
  let kind = '';
  let text = '';
  if (err) {
    kind = 'error';
    text = 'The server does not answer: ' + (err.message || err) + '. Retrying.';
  } else if (s) {
    const chain = s.chain && typeof s.chain === 'object' ? s.chain : null;
    const backlog = chain ? Number(chain.backlog) || 0 : 0;
    const tiers = chain && Array.isArray(chain.tiers) ? chain.tiers : [];
    const down = tiers.filter((t) => t && t.healthy === false).map(tierName);
    const plural = (n) => n + ' alert' + (n === 1 ? '' : 's');
    if (!chain && s.healthy === false) {
      kind = 'degraded';
      text = 'The store does not answer' + (s.error ? ': ' + String(s.error) : '') + '.';
    } else if (s.degraded || s.healthy === false) {
      kind = 'degraded';
      text = 'Store degraded' +
        (down.length ? ': ' + down.join(', ') + (down.length > 1 ? ' are' : ' is') + ' down' : '') +
        (chain ? '; new alerts fall back to ' + (chain.active ? String(chain.active) : 'a lower tier') +
          '. Backlog: ' + plural(backlog) + ' waiting to be replayed. Counts may miss alerts only the down tier holds.' : '.');
    } else if (backlog > 0) {
      kind = 'backlog';
      text = (chain.replaying ? 'Replaying' : 'Waiting to replay') + ' the backlog: ' + plural(backlog) + '.';
    }
  }
  b.hidden = kind === '';
  b.className = 'banner ' + kind;
  b.dataset.kind = kind;
  b.textContent = text;
  // The store changed under the page (degraded, recovered, replayed, or
  // alerts the stream does not carry): count again.
  // A store back from degraded may hold other alerts than the page saw
  // while it read the lower tiers: read everything again.
  const now = kind + ':' + (s ? s.count : '');
  if (lastStatus !== null && now !== lastStatus && loadedKey !== null) {
    if (lastStatus.startsWith('degraded:') && kind !== 'degraded' && state.view.name !== 'alert') {
      reload();
    } else {
      recount();
    }
  }
  lastStatus = now;
}

// ---- token

let asking = false;

// askToken shows the token form, saying why the server refused (err: the
// AuthError with the server's message).
function askToken(err) {
  if (asking) {
    return;
  }
  asking = true;
  if (live) {
    live.stop();
  }
  const why = err && err.message ? ' (' + err.message + ')' : '';
  $('auth-message').textContent = token() ?
    'The server refused the token' + why + '. Enter a reader token.' :
    'The server needs a reader token' + why + '.';
  $('auth').hidden = false;
  $('token').value = '';
  $('token').focus();
}

// ---- keys

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) {
    return;
  }
  const t = e.target;
  const typing = t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
  if (e.key === 'Escape') {
    if (typing) {
      t.blur();
    } else if (state.view.name === 'alert') {
      back();
    } else if (state.view.name === 'entity') {
      go({ name: 'overview', arg: '' });
    }
    return;
  }
  if (typing) {
    return;
  }
  switch (e.key) {
    case 'j':
    case 'k':
      if (state.view.name !== 'alert' && alerts.length) {
        selected = e.key === 'j' ? Math.min(selected + 1, alerts.length - 1) : Math.max(selected - 1, 0);
        renumber();
        const r = $('alerts').tBodies[0].rows[selected];
        if (r) {
          r.scrollIntoView({ block: 'nearest' });
        }
      }
      break;
    case 'Enter':
      if (state.view.name !== 'alert' && !(t instanceof HTMLAnchorElement) && !(t instanceof HTMLButtonElement)) {
        openSelected();
      }
      break;
    case '/':
      e.preventDefault();
      $('f-entity').focus();
      $('f-entity').select();
      break;
    case 't':
      toggleTZ();
      break;
    default:
      return;
  }
}

function back() {
  const to = returnTo;
  history.pushState(null, '', location.pathname + search() + to);
  readURL();
  route(null);
}

function toggleTZ() {
  state.tz = state.tz === 'local' ? 'utc' : 'local';
  history.replaceState(null, '', location.pathname + search() + location.hash);
  syncForm();
  renderTable();
  if (lastSummary) {
    drawTimeline($('timeline'), lastSummary.timeline, state.tz, bucketMs(lastSummary));
  }
  if (state.view.name === 'alert') {
    showDetail(state.view.arg);
  }
}

// ---- wiring

function start() {
  readURL();
  // A filter applied in the entity view is the overview with the entity
  // filter (the form shows the view's entity), the same alerts.
  const applyForm = () => {
    readForm();
    go(state.view.name === 'overview' ? state.view : { name: 'overview', arg: '' });
  };
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    applyForm();
  });
  for (const el of document.querySelectorAll('#f-severity input, #f-since')) {
    el.addEventListener('change', applyForm);
  }
  $('f-clear').addEventListener('click', () => {
    state.filters = { severity: [], source_type: '', entity: '', since: '' };
    go({ name: 'overview', arg: '' });
  });
  $('back').addEventListener('click', (e) => {
    e.preventDefault();
    back();
  });
  $('back-all').addEventListener('click', (e) => {
    e.preventDefault();
    go({ name: 'overview', arg: '' });
  });
  $('home').addEventListener('click', (e) => {
    e.preventDefault();
    state.filters = { severity: [], source_type: '', entity: '', since: '' };
    go({ name: 'overview', arg: '' });
  });
  $('more').addEventListener('click', loadMore);
  $('tz').addEventListener('click', toggleTZ);
  $('forget-token').hidden = !token();
  $('forget-token').addEventListener('click', () => {
    setToken('');
    location.reload();
  });
  $('auth').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken($('token').value);
    $('auth').hidden = true;
    $('forget-token').hidden = false;
    asking = false;
    loadedKey = null;
    route(null);
  });
  // popstate comes for back and forward and for a followed #fragment link.
  window.addEventListener('popstate', () => {
    const before = state.view;
    readURL();
    route(before);
  });
  document.addEventListener('keydown', onKey);
  route(null);
  pollStatus();
}

start();
