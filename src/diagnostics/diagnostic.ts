// Diagnostics are data, collected and returned, never thrown for user errors (STYLE habit 1).
// Modules report offsets (`Span`) against the text they were given; the config loader maps them to
// file offsets and only the edge (reporters) turns offsets into line:column (STYLE habit 2).

export type Severity = 'error' | 'warning';

/** Half-open character range [start, end) in some source text. */
export interface Span {
  start: number;
  end: number;
}

/** A problem found inside one text (an expression, a template, a CSV row), positioned by offsets into it. */
export interface SpanDiagnostic {
  code: string;
  severity: Severity;
  message: string;
  span: Span;
  hint?: string;
}

/** A problem positioned in a file, ready for reporters. Lines and columns are 1-based. */
export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  /** JSON-pointer-like path to the offending value inside the document, e.g. `/spec/steps/2/wait`. */
  path?: string;
  hint?: string;
}

export interface Result<T> {
  value: T | undefined;
  diagnostics: Diagnostic[];
}

export function hasErrors(diagnostics: readonly { severity: Severity }[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
