// Rendering alert data. Every value an alert carries is put on the page as
// text (textContent, text nodes): none of it is ever parsed as markup, so a
// detector that writes "<script>" in a message shows those characters.

import { severities } from './chart.js';

// h creates an element with attributes and children (strings become text
// nodes).
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) {
      continue;
    }
    if (k === 'class') {
      e.className = v;
    } else if (k === 'text') {
      e.textContent = String(v);
    } else {
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === undefined || c === null) {
      continue;
    }
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

// sevClass is the CSS class of a severity, from a fixed list (alert data
// never becomes a class name).
export function sevClass(s) {
  const i = severities.findIndex((k) => typeof s === 'string' && k.toLowerCase() === s.toLowerCase());
  if (i >= 0) {
    return 'sev sev-' + severities[i];
  }
  if (typeof s === 'string' && s.toLowerCase() === 'informational') {
    return 'sev sev-Info';
  }
  return 'sev sev-other';
}

export function sevBadge(s) {
  return h('span', { class: sevClass(s) }, s === undefined || s === null ? '' : String(s));
}

// scalar prints a JSON scalar.
export function scalar(v) {
  if (v === null) {
    return 'null';
  }
  if (v === undefined) {
    return '';
  }
  if (typeof v === 'number') {
    return Number.isInteger(v) ? String(v) : String(Math.round(v * 10000) / 10000);
  }
  return String(v);
}

const maxDepth = 8;

// value renders any JSON value: objects as key/value tables, arrays of
// scalars as chips, other arrays as lists, deeper than maxDepth as JSON text.
export function value(v, depth = 0) {
  if (v === null || typeof v !== 'object') {
    return h('span', { class: 'v v-' + (v === null ? 'null' : typeof v) }, scalar(v));
  }
  if (depth >= maxDepth) {
    return h('code', {}, JSON.stringify(v));
  }
  if (Array.isArray(v)) {
    if (v.length === 0) {
      return h('span', { class: 'v v-empty' }, '[]');
    }
    if (v.every((x) => x === null || typeof x !== 'object')) {
      return h('ul', { class: 'chips' }, ...v.map((x) => h('li', {}, scalar(x))));
    }
    return h('ol', { class: 'nested' }, ...v.map((x) => h('li', {}, value(x, depth + 1))));
  }
  const keys = Object.keys(v);
  if (keys.length === 0) {
    return h('span', { class: 'v v-empty' }, '{}');
  }
  return table(v, depth);
}

// table renders an object as a two-column table.
export function table(obj, depth = 0) {
  const body = h('tbody');
  for (const [k, v] of Object.entries(obj)) {
    body.append(h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, value(v, depth + 1))));
  }
  return h('table', { class: 'kv' }, body);
}

// mitreOf finds an alert's MITRE ATT&CK mapping: the "mitre_attack" object
// the detectors write ({techniques, tactics}), or the same keys at the top
// level or under "mitre". Techniques and tactics may be strings ("T1021.002")
// or objects ({id, name, ...}).
export function mitreOf(alert) {
  for (const key of ['mitre_attack', 'mitre', 'attack']) {
    const m = alert[key];
    if (m && typeof m === 'object' && !Array.isArray(m) && (m.techniques || m.tactics)) {
      return { key, techniques: list(m.techniques), tactics: list(m.tactics), rest: without(m, ['techniques', 'tactics']) };
    }
  }
  if (alert.techniques || alert.tactics) {
    return { key: null, techniques: list(alert.techniques), tactics: list(alert.tactics), rest: {} };
  }
  return null;
}

function list(v) {
  if (v === undefined || v === null) {
    return [];
  }
  return Array.isArray(v) ? v : [v];
}

function without(obj, keys) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!keys.includes(k)) {
      out[k] = v;
    }
  }
  return out;
}

// attackItem renders one technique or tactic: a string as it is, an object
// by its id and name, with its other fields as a tooltip.
export function attackItem(t) {
  if (t === null || typeof t !== 'object') {
    return h('li', { class: 'attack' }, h('code', {}, scalar(t)));
  }
  const id = t.id ?? t.technique_id ?? t.tactic_id ?? t.external_id;
  const name = t.name ?? t.technique ?? t.tactic;
  const li = h('li', { class: 'attack', title: JSON.stringify(t) });
  if (id !== undefined) {
    li.append(h('code', {}, scalar(id)));
  }
  if (name !== undefined) {
    li.append(' ' + scalar(name));
  }
  if (id === undefined && name === undefined) {
    li.append(h('code', {}, JSON.stringify(t)));
  }
  return li;
}

// modelsTable renders the "models" object: one row per model with its
// score (a number, or an object's "score"/"probability"), and the model's
// other fields.
export function modelsView(models) {
  if (!models || typeof models !== 'object' || Array.isArray(models)) {
    return value(models);
  }
  const body = h('tbody');
  for (const [name, m] of Object.entries(models)) {
    let score = m;
    let rest = null;
    if (m && typeof m === 'object' && !Array.isArray(m)) {
      const key = ['score', 'probability', 'prediction_score', 'anomaly_score'].find((k) => k in m);
      score = key ? m[key] : undefined;
      rest = without(m, key ? [key] : []);
      if (Object.keys(rest).length === 0) {
        rest = null;
      }
    }
    body.append(h('tr', {},
      h('th', { scope: 'row' }, name),
      h('td', { class: 'num' }, score === undefined ? '' : scalar(score)),
      h('td', {}, rest ? value(rest, 1) : null)));
  }
  return h('table', { class: 'kv models' },
    h('thead', {}, h('tr', {}, h('th', {}, 'model'), h('th', {}, 'score'), h('th', {}, 'details'))), body);
}
