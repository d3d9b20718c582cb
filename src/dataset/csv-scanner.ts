// A tight RFC-4180 CSV scanner over bytes. Hand-written instead of csv-parse because the events file is the
// hot path of loading (goal: millions of rows per second): csv-parse builds a JS string per field and an
// array per row, which alone costs more than our whole row budget. This scanner only records field
// boundaries in reused Int32Arrays; consumers parse values straight from the bytes.
import { closeSync, openSync, readSync } from 'node:fs';

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

export interface CsvProblem {
  /** 1-based line and column of the problem. */
  line: number;
  column: number;
  message: string;
}

export class CsvRecord {
  buf: Uint8Array = new Uint8Array(0);
  /** Field content boundaries after unquoting (ends shrink when `""` escapes were collapsed). */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  quoted = new Uint8Array(64);
  count = 0;
  /** 1-based line of the record's first byte. */
  line = 1;
  /** Offset of the record's first byte in `buf`. */
  offset = 0;
  /** Line breaks inside quoted fields of this record. */
  newlines = 0;
  /** A field left CSV-escaped (its `""` not collapsed) for a consumer that reads escapes itself; -1 none. */
  rawField = -1;

  /** 1-based column (UTF-16 units) of byte `pos` of this record's first line. */
  columnAt(pos: number): number {
    const prefix = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.offset, Math.max(0, pos - this.offset));
    const text = prefix.toString('utf8');
    const nl = text.lastIndexOf('\n');
    return text.length - (nl + 1) + 1;
  }

  /** 1-based column of field f (its opening quote when quoted). */
  column(f: number): number {
    if (f >= this.count) return this.columnAt(this.count > 0 ? this.ends[this.count - 1] : this.offset);
    return this.columnAt(this.starts[f] - (this.quoted[f] > 0 ? 1 : 0));
  }

  text(f: number): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength).toString(
      'utf8',
      this.starts[f],
      this.ends[f],
    );
  }

  isEmpty(f: number): boolean {
    return this.ends[f] === this.starts[f];
  }

  grow(): void {
    const n = this.starts.length * 2;
    const s = new Int32Array(n);
    s.set(this.starts);
    const e = new Int32Array(n);
    e.set(this.ends);
    const q = new Uint8Array(n);
    q.set(this.quoted);
    this.starts = s;
    this.ends = e;
    this.quoted = q;
  }
}

/** Called per non-blank record; return false to stop scanning. */
export type RecordHandler = (rec: CsvRecord) => boolean | void;
export type ProblemHandler = (problem: CsvProblem) => void;

/**
 * Scans one record starting at `pos`. Returns the offset after it, or -1 when the record is not complete in
 * buf[0, end) and more input may follow (`final` false). Malformed quoting is reported and the rest of the
 * line skipped (returns the offset after it with rec.count = -1).
 */
function scanRecord(rec: CsvRecord, buf: Uint8Array, pos: number, end: number, final: boolean): number {
  let i = pos;
  let count = 0;
  let newlines = 0;
  let escapes = false;
  rec.offset = pos;
  for (;;) {
    if (count === rec.starts.length) rec.grow();
    if (i < end && buf[i] === QUOTE) {
      i++;
      const fs = i;
      let fieldEscapes = false;
      for (;;) {
        if (i >= end) {
          if (!final) return -1;
          rec.count = -1;
          return end;
        }
        const c = buf[i];
        if (c === QUOTE) {
          if (i + 1 >= end && !final) return -1;
          if (i + 1 < end && buf[i + 1] === QUOTE) {
            fieldEscapes = true;
            i += 2;
            continue;
          }
          break;
        }
        if (c === LF) newlines++;
        i++;
      }
      rec.starts[count] = fs;
      rec.ends[count] = i;
      rec.quoted[count] = fieldEscapes ? 2 : 1;
      escapes ||= fieldEscapes;
      count++;
      i++; // closing quote
      if (i >= end) {
        if (!final) return -1;
        break;
      }
      const c = buf[i];
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === LF) {
        i++;
        break;
      }
      if (c === CR) {
        if (i + 1 >= end && !final) return -1;
        if (i + 1 >= end) {
          i++;
          break;
        }
        if (buf[i + 1] === LF) {
          i += 2;
          break;
        }
      }
      // Text after a closing quote: malformed. Skip to the end of the line.
      while (i < end && buf[i] !== LF) i++;
      if (i >= end && !final) return -1;
      rec.count = -1;
      rec.ends[0] = i; // where the problem was detected is recomputed by the caller
      return i < end ? i + 1 : end;
    }
    const fs = i;
    while (i < end) {
      const c = buf[i];
      if (c === COMMA || c === LF) break;
      i++;
    }
    if (i >= end && !final) return -1;
    let fe = i;
    if (fe > fs && buf[fe - 1] === CR && (i >= end || buf[i] === LF)) fe--;
    rec.starts[count] = fs;
    rec.ends[count] = fe;
    rec.quoted[count] = 0;
    count++;
    if (i >= end) break;
    i++;
    if (buf[i - 1] === LF) break;
  }
  rec.count = count;
  rec.newlines = newlines;
  if (escapes) {
    // Collapse "" to " in place now that the record is complete (doing it while scanning would corrupt a
    // record that turns out to continue in the next chunk).
    for (let f = 0; f < count; f++) {
      if (rec.quoted[f] !== 2 || f === rec.rawField) continue;
      let w = rec.starts[f];
      const e = rec.ends[f];
      for (let r = w; r < e; r++) {
        buf[w++] = buf[r];
        if (buf[r] === QUOTE) r++;
      }
      rec.ends[f] = w;
    }
  }
  return i;
}

function isBlank(rec: CsvRecord): boolean {
  return rec.count === 1 && rec.quoted[0] === 0 && rec.ends[0] === rec.starts[0];
}

/** Scans a whole in-memory buffer. */
export function scanCsvBuffer(buf: Uint8Array, onRecord: RecordHandler, onProblem: ProblemHandler): void {
  const rec = new CsvRecord();
  rec.buf = buf;
  let pos = skipBom(buf, 0, buf.length);
  rec.line = 1;
  while (pos < buf.length) {
    const next = scanRecord(rec, buf, pos, buf.length, true);
    if (!deliver(rec, buf, pos, next, onRecord, onProblem)) return;
    pos = next;
  }
}

function skipBom(buf: Uint8Array, pos: number, end: number): number {
  return end - pos >= 3 && buf[pos] === 0xef && buf[pos + 1] === 0xbb && buf[pos + 2] === 0xbf ? pos + 3 : pos;
}

/** Hands one scanned record to the handler and advances the line counter. False means stop. */
function deliver(
  rec: CsvRecord,
  buf: Uint8Array,
  pos: number,
  next: number,
  onRecord: RecordHandler,
  onProblem: ProblemHandler,
): boolean {
  let keepGoing = true;
  if (rec.count < 0) {
    onProblem({ line: rec.line, column: 1, message: 'malformed CSV quoting (unterminated quote or text after a closing quote)' });
    let lines = 0;
    for (let k = pos; k < next; k++) if (buf[k] === LF) lines++;
    rec.line += lines;
    return true;
  }
  if (!isBlank(rec)) keepGoing = onRecord(rec) !== false;
  rec.line += rec.newlines + (next > pos && buf[next - 1] === LF ? 1 : 0);
  return keepGoing;
}

/**
 * Scans a file in chunks (constant memory however large the file). The chunk holding the current record is
 * rec.buf; offsets are valid only during the handler call.
 */
export function scanCsvFile(file: string, onRecord: RecordHandler, onProblem: ProblemHandler, chunkSize = 8 << 20): void {
  const fd = openSync(file, 'r');
  try {
    // At least 4 bytes, so the BOM check below can always see 3 bytes (or the end of the file).
    let buf = Buffer.allocUnsafe(Math.max(4, chunkSize));
    const rec = new CsvRecord();
    rec.line = 1;
    let filled = 0;
    let eof = false;
    let first = true;
    for (;;) {
      if (!eof && filled < buf.length) {
        const n = readSync(fd, buf, filled, buf.length - filled, null);
        if (n === 0) eof = true;
        filled += n;
      }
      rec.buf = buf;
      let pos = 0;
      if (first) {
        pos = skipBom(buf, 0, filled);
        if (filled >= 3 || eof) first = false;
        if (first) continue;
      }
      while (pos < filled) {
        const next = scanRecord(rec, buf, pos, filled, eof);
        if (next < 0) break;
        if (!deliver(rec, buf, pos, next, onRecord, onProblem)) return;
        pos = next;
      }
      if (eof && pos >= filled) return;
      if (pos > 0) {
        buf.copyWithin(0, pos, filled);
        filled -= pos;
      } else if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      } else if (eof) {
        return;
      }
    }
  } finally {
    closeSync(fd);
  }
}
