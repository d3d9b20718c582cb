// Value parsers that work on bytes (the hot path of the loader) with string wrappers for NDJSON and the
// importer. Hand-written because Date.parse and Number() on a decoded string cost several times more than
// the whole rest of an event row; every parser returns NaN (or -1) for "not this type", never throws.

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function digits(buf: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Timestamp from bytes: ISO-8601 `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fff…]]` with an optional zone
 * (`Z`, `±HH:MM`, `±HHMM`, `±HH`; none means UTC), or a plain integer of epoch milliseconds. NaN otherwise.
 */
export function parseTimestampBytes(buf: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n <= 0) return NaN;
  const c0 = buf[s];
  if (n < 10 || buf[s + 4] !== 45 /* - */) {
    // epoch milliseconds
    let i = s;
    let neg = false;
    if (c0 === 45) {
      neg = true;
      i++;
    }
    if (i === e || e - i > 16) return NaN;
    let v = 0;
    for (; i < e; i++) {
      const c = buf[i] - 48;
      if (c < 0 || c > 9) return NaN;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }
  const y = digits(buf, s, 4);
  const mo = digits(buf, s + 5, 2);
  const d = digits(buf, s + 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || buf[s + 7] !== 45 || d < 1 || d > daysInMonth(y, mo)) return NaN;
  let ms = daysFromCivil(y, mo, d) * 86_400_000;
  if (n === 10) return ms;
  const sep = buf[s + 10];
  if ((sep !== 84 && sep !== 32 && sep !== 116) || n < 16 || buf[s + 13] !== 58) return NaN;
  const hh = digits(buf, s + 11, 2);
  const mi = digits(buf, s + 14, 2);
  if (hh < 0 || hh > 23 || mi < 0 || mi > 59) return NaN;
  ms += hh * 3_600_000 + mi * 60_000;
  let i = s + 16;
  if (i < e && buf[i] === 58) {
    const ss = digits(buf, i + 1, 2);
    if (i + 3 > e || ss < 0 || ss > 59) return NaN;
    ms += ss * 1000;
    i += 3;
    if (i < e && (buf[i] === 46 || buf[i] === 44)) {
      i++;
      let scale = 100;
      const start = i;
      while (i < e && buf[i] >= 48 && buf[i] <= 57) {
        ms += (buf[i] - 48) * scale;
        scale /= 10;
        i++;
      }
      if (i === start) return NaN;
      ms = Math.round(ms * 1000) / 1000;
    }
  }
  if (i === e) return ms;
  const z = buf[i];
  if ((z === 90 || z === 122) && i + 1 === e) return ms;
  if (z !== 43 && z !== 45) return NaN;
  const sign = z === 43 ? 1 : -1;
  const oh = digits(buf, i + 1, 2);
  if (oh < 0 || i + 3 > e || oh > 18) return NaN;
  let om = 0;
  let j = i + 3;
  if (j < e && buf[j] === 58) j++;
  if (j < e) {
    om = digits(buf, j, 2);
    if (om < 0 || om > 59 || j + 2 !== e) return NaN;
  }
  return ms - sign * (oh * 3_600_000 + om * 60_000);
}

export function parseTimestamp(text: string): number {
  const b = Buffer.from(text, 'latin1');
  return parseTimestampBytes(b, 0, b.length);
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];

/**
 * A JSON-style decimal number from bytes. Up to 15 significant digits without an exponent are computed
 * exactly (mantissa / 10^k is correctly rounded when both are exact doubles); anything else falls back to
 * Number() on the text. NaN when it is not a number.
 */
export function parseNumberBytes(buf: Uint8Array, s: number, e: number): number {
  let i = s;
  if (i >= e) return NaN;
  let neg = false;
  if (buf[i] === 45) {
    neg = true;
    i++;
  }
  let mant = 0;
  let nd = 0;
  let frac = 0;
  const intStart = i;
  while (i < e) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) break;
    mant = mant * 10 + c;
    nd++;
    i++;
  }
  if (i === intStart) return NaN;
  if (i < e && buf[i] === 46) {
    i++;
    const fs = i;
    while (i < e) {
      const c = buf[i] - 48;
      if (c < 0 || c > 9) break;
      mant = mant * 10 + c;
      nd++;
      frac++;
      i++;
    }
    if (i === fs) return NaN;
  }
  if (i === e && nd <= 15) {
    const v = frac === 0 ? mant : mant / POW10[frac];
    return neg ? -v : v;
  }
  if (i < e && buf[i] !== 101 && buf[i] !== 69) return NaN;
  const text = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1');
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
}

export function parseNumber(text: string): number {
  const t = text.trim();
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
}

/** 1 / 0 for true / false (also 1/0, yes/no, case-insensitive), -1 otherwise. */
export function parseBoolText(text: string): number {
  switch (text.trim().toLowerCase()) {
    case 'true':
    case '1':
    case 'yes':
      return 1;
    case 'false':
    case '0':
    case 'no':
      return 0;
    default:
      return -1;
  }
}

/** Milliseconds from `15m`, `12h`, `30d`, `2w`, `500ms`, `10s`, or a plain number of ms. NaN otherwise. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) return NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] ?? 'ms']!;
  return Number(m[1]) * unit;
}

/** ISO-8601 UTC text of epoch ms, seconds precision when there are no milliseconds. */
export function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
}
