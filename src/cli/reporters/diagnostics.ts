// Reporters for diagnostics: a registry keyed by --format (knip's pattern). Each returns the text to print.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';

export interface DiagnosticsReport {
  diagnostics: readonly Diagnostic[];
  files: number;
  cwd: string;
  /** Warnings count as errors (--strict). */
  strict: boolean;
}

export type DiagnosticsReporter = (report: DiagnosticsReport) => string;

function counts(report: DiagnosticsReport): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const d of report.diagnostics) {
    if (d.severity === 'error' || report.strict) errors++;
    else warnings++;
  }
  return { errors, warnings };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Source line with a caret under the span, Terraform/rustc style. */
function excerpt(d: Diagnostic, cwd: string, cache: Map<string, string[] | null>): string {
  if (!d.file || !d.line) return '';
  let lines = cache.get(d.file);
  if (lines === undefined) {
    try {
      lines = readFileSync(path.resolve(cwd, d.file), 'utf8').split('\n');
    } catch {
      lines = null;
    }
    cache.set(d.file, lines);
  }
  const text = lines?.[d.line - 1];
  if (text === undefined) return '';
  const shown = text.replace(/\t/g, ' ').replace(/\r$/, '');
  const col = Math.max(1, d.column ?? 1);
  const width = d.endLine === d.line && d.endColumn && d.endColumn > col ? d.endColumn - col : 1;
  const gutter = String(d.line).length;
  const pad = ' '.repeat(gutter);
  return `${pad} |\n${d.line} | ${shown}\n${pad} | ${' '.repeat(col - 1)}${'^'.repeat(Math.min(width, Math.max(1, shown.length - col + 1)))}\n`;
}

export const textReporter: DiagnosticsReporter = (report) => {
  const cache = new Map<string, string[] | null>();
  let out = '';
  for (const d of report.diagnostics) {
    const severity = d.severity === 'error' || report.strict ? 'error' : 'warning';
    out += `${severity}[${d.code}]: ${d.message}\n`;
    if (d.file) out += `  --> ${d.file}${d.line ? `:${d.line}:${d.column ?? 1}` : ''}\n`;
    out += excerpt(d, report.cwd, cache);
    if (d.hint) out += `  = hint: ${d.hint}\n`;
    out += '\n';
  }
  const { errors, warnings } = counts(report);
  out +=
    errors === 0
      ? `✓ ${plural(report.files, 'file')} valid${warnings ? `, ${plural(warnings, 'warning')}` : ''}\n`
      : `✗ ${plural(errors, 'error')}${warnings ? `, ${plural(warnings, 'warning')}` : ''} in ${plural(report.files, 'file')}\n`;
  return out;
};

export const jsonReporter: DiagnosticsReporter = (report) => {
  const { errors, warnings } = counts(report);
  return (
    JSON.stringify(
      { format_version: 1, valid: errors === 0, summary: { files: report.files, errors, warnings }, diagnostics: report.diagnostics },
      null,
      2,
    ) + '\n'
  );
};

/** GitHub workflow commands: one annotation per diagnostic; values escaped as the runner requires. */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export const githubReporter: DiagnosticsReporter = (report) => {
  let out = '';
  for (const d of report.diagnostics) {
    const level = d.severity === 'error' || report.strict ? 'error' : 'warning';
    const props: string[] = [];
    if (d.file) props.push(`file=${escapeProperty(d.file)}`);
    if (d.line) props.push(`line=${d.line}`);
    if (d.column) props.push(`col=${d.column}`);
    if (d.endLine) props.push(`endLine=${d.endLine}`);
    if (d.endColumn && d.endLine === d.line) props.push(`endColumn=${d.endColumn}`);
    props.push(`title=${escapeProperty(d.code)}`);
    out += `::${level} ${props.join(',')}::${escapeData(d.message + (d.hint ? `\nhint: ${d.hint}` : ''))}\n`;
  }
  const { errors, warnings } = counts(report);
  out += `${errors === 0 ? 'valid' : 'invalid'}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(report.files, 'file')}\n`;
  return out;
};

export const diagnosticsReporters = { text: textReporter, json: jsonReporter, github: githubReporter } as const;
export type DiagnosticsFormat = keyof typeof diagnosticsReporters;
