// Writing dataset files: a buffered writer (one writeSync per ~1 MB instead of per row) and CSV quoting.
import { closeSync, openSync, writeSync } from 'node:fs';

export class BufferedWriter {
  private readonly fd: number;
  private parts: string[] = [];
  private pending = 0;
  bytes = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }

  write(text: string): void {
    this.parts.push(text);
    this.pending += text.length;
    if (this.pending >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    writeSync(this.fd, buf);
    this.bytes += buf.length;
    this.parts = [];
    this.pending = 0;
  }

  /** Flushes, closes and returns the bytes written. */
  close(): number {
    this.flush();
    closeSync(this.fd);
    return this.bytes;
  }
}

/** A CSV field: quoted (with "" escapes) only when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The events-file cell for a props object: JSON, quoted for CSV; empty for no props. */
export function propsCell(props: Record<string, unknown>): string {
  const keys = Object.keys(props);
  if (keys.length === 0) return '';
  return `"${JSON.stringify(props).replace(/"/g, '""')}"`;
}
