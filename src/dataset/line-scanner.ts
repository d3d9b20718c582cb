// Reads a text file line by line in chunks (NDJSON files can be larger than a JS string may be).
import { closeSync, openSync, readSync } from 'node:fs';

/** Called per non-blank line with its 1-based number and text (CR stripped). False stops. */
export type LineHandler = (text: string, line: number) => boolean | void;

export function scanLinesFile(file: string, onLine: LineHandler, chunkSize = 8 << 20): void {
  const fd = openSync(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(chunkSize);
    let filled = 0;
    let line = 1;
    let eof = false;
    for (;;) {
      if (!eof) {
        const n = readSync(fd, buf, filled, buf.length - filled, null);
        if (n === 0) eof = true;
        filled += n;
      }
      let pos = 0;
      for (;;) {
        let nl = buf.indexOf(10, pos);
        if (nl < 0 || nl >= filled) {
          if (!eof) break;
          nl = filled;
        }
        let end = nl;
        if (end > pos && buf[end - 1] === 13) end--;
        let start = pos;
        if (line === 1 && end - start >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start += 3;
        if (end > start) {
          const text = buf.toString('utf8', start, end);
          if (text.trim() !== '' && onLine(text, line) === false) return;
        }
        line++;
        pos = nl + 1;
        if (pos >= filled) break;
      }
      if (eof) return;
      if (pos > 0) {
        buf.copyWithin(0, Math.min(pos, filled), filled);
        filled -= Math.min(pos, filled);
      } else if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
    }
  } finally {
    closeSync(fd);
  }
}
