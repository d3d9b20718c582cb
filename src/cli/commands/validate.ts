import { Option } from 'commander';
import { loadProject } from '../../config/build-project.js';
import { ExitCode } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { diagnosticsReporters, type DiagnosticsFormat } from '../reporters/diagnostics.js';

export const registerValidate: RegisterCommand = (program, ctx) => {
  program
    .command('validate')
    .description('check configuration files offline: YAML, schemas, expressions, templates, references')
    .argument('[paths...]', 'files or directories', ['campaigns'])
    .addOption(new Option('--format <format>', 'output format').choices(Object.keys(diagnosticsReporters)).default('text'))
    .option('--strict', 'treat warnings as errors', false)
    .action((paths: string[], opts: { format: DiagnosticsFormat; strict: boolean }) => {
      const result = loadProject(paths, { cwd: ctx.io.cwd });
      const files = result.fileCount;
      const text = diagnosticsReporters[opts.format]({ diagnostics: result.diagnostics, files, cwd: ctx.io.cwd, strict: opts.strict });
      const failed = result.diagnostics.some((d) => d.severity === 'error' || opts.strict);
      (opts.format === 'text' && failed ? ctx.io.err : ctx.io.out)(text);
      ctx.setExit(failed ? ExitCode.invalid : ExitCode.ok);
    });
};
