// The timeline: a stacked bar chart of alerts per time bucket and severity,
// drawn as SVG by the DOM API (no library, no markup from data).

import { parseTime, shortTime } from './time.js';

export const severities = ['Critical', 'High', 'Medium', 'Low', 'Info'];

const W = 900;
const H = 180;
const left = 40;
const bottom = 22;
const top = 8;

// drawTimeline replaces the content of svg with a chart of timeline, the
// "timeline" array of /v1/summary: [{start, counts: {Severity: n}}], each
// bucket bucketMs long (0: unknown). The server may leave out empty
// buckets of a long window; bars are placed by their start, so a gap
// shows as a gap.
export function drawTimeline(svg, timeline, tz, bucketMs) {
  const ns = svg.namespaceURI;
  const el = (name, attrs, text) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs || {})) {
      e.setAttribute(k, String(v));
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  };
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const buckets = (Array.isArray(timeline) ? timeline : []).map((b) => ({
    start: parseTime(b && b.start),
    label: b && b.start,
    counts: (b && b.counts) || {},
  }));
  const totals = buckets.map((b) => Object.values(b.counts).reduce((s, n) => s + (Number(n) || 0), 0));
  const max = Math.max(0, ...totals);
  if (buckets.length === 0 || max === 0) {
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' }, 'No alerts in this window'));
    return;
  }
  const plotW = W - left - 4;
  const plotH = H - top - bottom;
  const step = niceStep(max);
  const yMax = Math.ceil(max / step) * step;
  const y = (n) => top + plotH - (n / yMax) * plotH;
  for (let v = 0; v <= yMax; v += step) {
    svg.append(el('line', { x1: left, x2: W - 4, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, String(v)));
  }
  // Each bucket's slot: by its start when the width is known and the
  // slots stay few, else one after the other.
  let slots = buckets.length;
  let slotOf = (i) => i;
  const t0 = buckets[0].start;
  const tn = buckets[buckets.length - 1].start;
  if (bucketMs > 0 && t0 && tn && buckets.every((b) => b.start)) {
    const n = Math.round((tn - t0) / bucketMs) + 1;
    if (n >= buckets.length && n <= 1500) {
      slots = n;
      slotOf = (i) => Math.round((buckets[i].start - t0) / bucketMs);
    }
  }
  const bw = plotW / slots;
  const gap = bw > 6 ? Math.min(2, bw * 0.15) : 0;
  const firstDay = buckets[0].start ? shortTime(buckets[0].start, tz, true).slice(0, 5) : '';
  const lastDay = buckets[buckets.length - 1].start ? shortTime(buckets[buckets.length - 1].start, tz, true).slice(0, 5) : '';
  const withDate = firstDay !== lastDay;
  const labelEvery = Math.max(1, Math.ceil(slots / (withDate ? 6 : 8)));
  buckets.forEach((b, i) => {
    const slot = slotOf(i);
    const x = left + slot * bw;
    const g = el('g', { class: 'bucket' });
    const when = b.start ? shortTime(b.start, tz, true) : String(b.label);
    const parts = severities.filter((s) => Number(b.counts[s]) > 0).map((s) => `${s} ${b.counts[s]}`);
    const other = totals[i] - severities.reduce((s, k) => s + (Number(b.counts[k]) || 0), 0);
    if (other > 0) {
      parts.push(`other ${other}`);
    }
    g.append(el('title', {}, `${when}: ${totals[i]} alerts${parts.length ? ' (' + parts.join(', ') + ')' : ''}`));
    let acc = 0;
    for (const s of severities) {
      const n = Number(b.counts[s]) || 0;
      if (n <= 0) {
        continue;
      }
      g.append(el('rect', {
        x: x + gap / 2, width: Math.max(bw - gap, 0.5),
        y: y(acc + n), height: y(acc) - y(acc + n),
        class: 'bar sev-' + s,
      }));
      acc += n;
    }
    if (other > 0) {
      g.append(el('rect', { x: x + gap / 2, width: Math.max(bw - gap, 0.5), y: y(acc + other), height: y(acc) - y(acc + other), class: 'bar sev-other' }));
    }
    svg.append(g);
    if (slot % labelEvery === 0 && b.start) {
      svg.append(el('text', { x: x + bw / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis' }, shortTime(b.start, tz, withDate)));
    }
  });
}

// niceStep chooses a gridline step (1, 2 or 5 times a power of ten) that
// gives at most four lines up to max.
function niceStep(max) {
  const raw = max / 4;
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const m of [1, 2, 5, 10]) {
    if (m * p >= raw) {
      return Math.max(1, m * p);
    }
  }
  return 10 * p;
}
