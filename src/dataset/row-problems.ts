// Collects the problems of one load. A bad row is skipped (non-strict: a warning) or fails the load
// (strict: an error, but scanning goes on so one run reports every problem). Nothing is dropped silently:
// every skipped row and every ignored value is counted by code, and after `detailLimit` detailed
// diagnostics per (code, file) the rest are summarised in one diagnostic with their count.
import type { Diagnostic, Severity } from '../diagnostics/diagnostic.js';

export interface Counts {
  count: number;
  byCode: Record<string, number>;
}

export interface Position {
  file: string;
  line?: number;
  column?: number;
}

export class RowProblems {
  readonly diagnostics: Diagnostic[] = [];
  /** Rows left out of the dataset. */
  readonly skipped: Counts = { count: 0, byCode: {} };
  /** Values set to null or props dropped while their row was kept. */
  readonly ignored: Counts = { count: 0, byCode: {} };
  private readonly shown = new Map<string, number>();
  private readonly hidden = new Map<string, { count: number; severity: Severity; file: string; code: string }>();

  constructor(
    readonly strict: boolean,
    private readonly detailLimit = 20,
  ) {}

  private get rowSeverity(): Severity {
    return this.strict ? 'error' : 'warning';
  }

  /** A row that is skipped (or, when strict, fails the load). */
  row(code: string, at: Position, message: string, hint?: string): void {
    this.skipped.count++;
    this.skipped.byCode[code] = (this.skipped.byCode[code] ?? 0) + 1;
    this.add(code, this.rowSeverity, at, this.strict ? message : `${message} (row skipped)`, hint);
  }

  /** A value that is ignored while its row is kept (or, when strict, fails the load). */
  value(code: string, at: Position, message: string, hint?: string): void {
    this.ignored.count++;
    this.ignored.byCode[code] = (this.ignored.byCode[code] ?? 0) + 1;
    this.add(code, this.rowSeverity, at, message, hint);
  }

  /** A problem that fails the load whatever the mode (missing file, missing column). */
  fatal(code: string, at: Position, message: string, hint?: string): void {
    this.add(code, 'error', at, message, hint);
  }

  warning(code: string, at: Position, message: string, hint?: string): void {
    this.add(code, 'warning', at, message, hint);
  }

  /** Strict-mode error or warning, not counted as a skipped row (e.g. an unsorted file, which is sorted). */
  strictOnly(code: string, at: Position, message: string, hint?: string): void {
    this.add(code, this.rowSeverity, at, message, hint);
  }

  get failed(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error') || [...this.hidden.values()].some((h) => h.severity === 'error');
  }

  /** Adds the "N more" summaries; call once at the end. */
  finish(): Diagnostic[] {
    for (const h of this.hidden.values()) {
      this.diagnostics.push({
        code: h.code,
        severity: h.severity,
        message: `${h.count} more row(s) with ${h.code} in ${h.file} (the first ${this.detailLimit} are listed)`,
        file: h.file,
      });
    }
    this.hidden.clear();
    return this.diagnostics;
  }

  private add(code: string, severity: Severity, at: Position, message: string, hint?: string): void {
    const key = `${code}\u0000${at.file}`;
    const n = this.shown.get(key) ?? 0;
    if (n >= this.detailLimit) {
      const h = this.hidden.get(key) ?? { count: 0, severity, file: at.file, code };
      h.count++;
      if (severity === 'error') h.severity = 'error';
      this.hidden.set(key, h);
      return;
    }
    this.shown.set(key, n + 1);
    const d: Diagnostic = { code, severity, message, file: at.file };
    if (at.line !== undefined) d.line = at.line;
    if (at.column !== undefined) d.column = at.column;
    if (hint) d.hint = hint;
    this.diagnostics.push(d);
  }
}

/** One NDJSON line as an object, or a HER5013 row problem (and undefined). */
export function parseJsonLine(text: string, file: string, line: number, problems: RowProblems): Record<string, unknown> | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (error) {
    problems.row('HER5013', { file, line, column: 1 }, `malformed JSON line: ${(error as Error).message}`);
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    problems.row('HER5013', { file, line, column: 1 }, 'each line must be a JSON object');
    return undefined;
  }
  return obj as Record<string, unknown>;
}
