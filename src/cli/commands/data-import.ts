// `herald data import --mapping FILE --out DIR`: turns a transaction file into a dataset directory
// through an import mapping (mappings/*.yaml).
import path from 'node:path';
import type { Command } from 'commander';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { importTransactions, type ImportReport } from '../../dataset/import/import-transactions.js';
import { readMapping } from '../../dataset/import/mapping.js';
import { groupDigits } from '../../dataset/segment-report.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';

function formatDiagnostic(d: Diagnostic, cwd: string): string {
  const where = d.file ? `${path.relative(cwd, d.file) || d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
  return `${where}${d.severity}[${d.code}]: ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ''}`;
}

function summary(r: ImportReport, cwd: string): string {
  const lines = [
    `Imported ${path.relative(cwd, r.source) || r.source} with mapping ${r.mapping}`,
    `  rows read: ${groupDigits(r.rows)}`,
    ...Object.entries(r.skipped).map(([reason, n]) => `  rows skipped (${reason}): ${groupDigits(n)}`),
  ];
  if (r.cancellations) {
    const c = r.cancellations;
    lines.push(`  cancellation rows: ${groupDigits(c.rows)} (${c.action === 'drop' ? 'dropped' : `${groupDigits(c.events)} refund events`})`);
  }
  if (r.unparsable > 0) lines.push(`  rows with unparsable values skipped: ${groupDigits(r.unparsable)}`);
  lines.push(
    `  customers: ${groupDigits(r.customers)}, events: ${groupDigits(r.events)}${r.products ? `, products: ${groupDigits(r.products)}` : ''}`,
    `  revenue (sum of amount): ${groupDigits(r.revenue, 2)}`,
  );
  if (r.first) lines.push(`  span: ${r.first} → ${r.last}`);
  for (const f of r.files) lines.push(`  ${path.relative(cwd, f.file) || f.file}  ${groupDigits(f.bytes)} bytes`);
  return `${lines.join('\n')}\n`;
}

export const register: RegisterCommand = (program: Command, ctx) => {
  const data = program.command('data').description('Datasets: import real transaction data');
  data
    .command('import')
    .description('Turn a transaction file into a dataset directory through a mapping (mappings/*.yaml)')
    .requiredOption('--mapping <file>', 'import mapping (YAML)')
    .requiredOption('--out <dir>', 'output dataset directory')
    .option('--source <file>', 'source file (default: the mapping\'s source.file)')
    .option('--strict', 'fail when a row has an unparsable value (default: skip and count)')
    .option('--format <format>', 'text | json', 'text')
    .action((opts: { mapping: string; out: string; source?: string; strict?: boolean; format: string }) => {
      if (opts.format !== 'text' && opts.format !== 'json') {
        throw new UserError('HER5100', `--format must be text or json, got "${opts.format}"`, ExitCode.usage);
      }
      const cwd = ctx.io.cwd;
      const { mapping, diagnostics } = readMapping(path.resolve(cwd, opts.mapping));
      if (!mapping) {
        for (const d of diagnostics) ctx.io.err(`${formatDiagnostic(d, cwd)}\n`);
        ctx.setExit(ExitCode.invalid);
        return;
      }
      if (opts.source) mapping.source.file = path.resolve(cwd, opts.source);
      const report = importTransactions(mapping, path.resolve(cwd, opts.out));
      const failed = report.diagnostics.some((d) => d.severity === 'error') || (opts.strict === true && report.unparsable > 0);
      if (opts.format === 'json') ctx.io.out(`${JSON.stringify({ ...report, ok: !failed }, null, 2)}\n`);
      else {
        for (const d of report.diagnostics) if (d.code !== 'HER5104' && d.code !== 'HER5105') ctx.io.err(`${formatDiagnostic(d, cwd)}\n`);
        if (!report.diagnostics.some((d) => d.severity === 'error')) ctx.io.out(summary(report, cwd));
      }
      ctx.setExit(failed ? ExitCode.invalid : ExitCode.ok);
    });
};
