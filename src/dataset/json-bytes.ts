// JSON tokens scanned straight from a file's bytes (used by event-builder.ts for the props column). With
// `dq` = 1 the text is still CSV-escaped: each JSON quote is written as two quote bytes.

export const Q = 34;

export function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * End of a JSON string starting at the quote at i (index after the closing quote), or -1. With `dq` the
 * text is still CSV-escaped: every JSON quote is written `""` (parsing it in place saves a pass).
 */
export function scanString(buf: Uint8Array, i: number, e: number, dq: number): number {
  i += 1 + dq;
  while (i < e) {
    const c = buf[i];
    if (c === Q) return i + 1 + dq;
    if (c === 92) i += buf[i + 1] === Q ? 2 + dq : 2;
    else i++;
  }
  return -1;
}

export function hasBackslash(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] === 92) return true;
  return false;
}

/** End of a bare token (number, true, false, null). */
export function scanBare(buf: Uint8Array, i: number, e: number): number {
  while (i < e) {
    const c = buf[i];
    if (c === 44 || c === 125 || c === 93 || isWs(c)) break;
    i++;
  }
  return i;
}

/** End of any JSON value at i, or -1 when malformed. */
export function skipValue(buf: Uint8Array, i: number, e: number, dq: number): number {
  const c = buf[i];
  if (c === Q) return scanString(buf, i, e, dq);
  if (c !== 123 && c !== 91) {
    const end = scanBare(buf, i, e);
    return end > i ? end : -1;
  }
  let depth = 0;
  while (i < e) {
    const ch = buf[i];
    if (ch === Q) {
      i = scanString(buf, i, e, dq);
      if (i < 0) return -1;
      continue;
    }
    if (ch === 123 || ch === 91) depth++;
    else if (ch === 125 || ch === 93) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}

export function bytesEqual(buf: Uint8Array, s: number, e: number, key: Uint8Array): boolean {
  if (e - s !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (buf[s + k] !== key[k]) return false;
  return true;
}

export function utf8(buf: Uint8Array, s: number, e: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
}

export function isLiteral(buf: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (buf[s + k] !== word.charCodeAt(k)) return false;
  return true;
}

export function decodeJsonString(buf: Uint8Array, s: number, e: number, dq = 0): string {
  try {
    const text = utf8(buf, s, e);
    const v: unknown = JSON.parse(dq ? text.replace(/""/g, '"') : text);
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}
