import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatYaml } from '../../config/format.js';
import { discoverFiles, displayPath } from '../../config/read-documents.js';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { ExitCode } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { textReporter } from '../reporters/diagnostics.js';

export const registerFmt: RegisterCommand = (program, ctx) => {
  program
    .command('fmt')
    .description('rewrite configuration files in canonical key order, keeping comments')
    .argument('[paths...]', 'files or directories', ['campaigns'])
    .option('--check', 'do not write; exit 1 and list the files that would change', false)
    .action((paths: string[], opts: { check: boolean }) => {
      const { files, missing } = discoverFiles(paths, ctx.io.cwd);
      const diagnostics: Diagnostic[] = missing.map((m) => ({ code: 'HER1006', severity: 'error', message: `no such file or directory: ${m}`, file: m }));
      const changed: string[] = [];
      for (const file of files) {
        const shown = displayPath(file, ctx.io.cwd);
        const result = formatYaml(shown, readFileSync(file, 'utf8'));
        diagnostics.push(...result.diagnostics);
        if (!result.changed || result.formatted === undefined) continue;
        changed.push(shown);
        if (opts.check) {
          diagnostics.push({ code: 'HER1040', severity: 'error', message: `${shown} is not formatted`, file: shown, hint: 'run herald fmt' });
        } else {
          writeFileSync(path.resolve(ctx.io.cwd, file), result.formatted);
        }
      }
      if (diagnostics.length) ctx.io.err(textReporter({ diagnostics, files: files.length, cwd: ctx.io.cwd, strict: false }));
      if (!opts.check) for (const f of changed) ctx.io.out(`formatted ${f}\n`);
      if (opts.check && changed.length === 0 && diagnostics.length === 0) ctx.io.out(`✓ ${files.length} files formatted\n`);
      ctx.setExit(diagnostics.some((d) => d.severity === 'error') ? ExitCode.invalid : ExitCode.ok);
    });
};
