// Timestamps: alerts carry ISO 8601 strings, usually naive (no zone),
// which alertstore reads as UTC (docs/alerts.md). The page shows them in
// UTC or in the browser's zone, as the user chooses.

const iso = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

// parseTime returns the instant of an alert timestamp, or null.
export function parseTime(s) {
  if (typeof s !== 'string') {
    return null;
  }
  const m = iso.exec(s.trim());
  if (!m) {
    return null;
  }
  const ms = m[7] ? Number((m[7] + '00').slice(0, 3)) : 0;
  let t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, ms);
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    t -= sign * minutes * 60000;
  }
  return new Date(t);
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// formatTime prints d as "YYYY-MM-DD HH:MM:SS" in UTC or in local time.
export function formatTime(d, tz) {
  if (!(d instanceof Date) || isNaN(d)) {
    return '';
  }
  if (tz === 'local') {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

// shortTime prints the time of day (HH:MM), with the date when it is not
// the same day as ref, for chart labels.
export function shortTime(d, tz, withDate) {
  const full = formatTime(d, tz);
  return withDate ? full.slice(5, 16) : full.slice(11, 16);
}

// zoneName names the zone times are shown in: "UTC", or "local, UTC+01:00".
export function zoneName(tz) {
  if (tz !== 'local') {
    return 'UTC';
  }
  const off = -new Date().getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `local, UTC${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
