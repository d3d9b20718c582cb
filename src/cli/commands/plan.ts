import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { runPlan } from '../../plan/run-plan.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { diagnosticsReporters } from '../reporters/diagnostics.js';
import { githubStepSummary, planReporters, type PlanFormat } from '../reporters/plan-reporters.js';

interface PlanFlags {
  base?: string | false;
  data?: string;
  now?: string;
  horizon?: string;
  seed?: string;
  format: PlanFormat;
  out?: string;
  detailedExitcode: boolean;
  unmask: boolean;
  strictData: boolean;
}

export const registerPlan: RegisterCommand = (program, ctx) => {
  program
    .command('plan')
    .description('dry-run the configuration over a dataset: who gets what, through which channel, at what cost, and what changed against the base')
    .argument('[paths...]', 'configuration files or directories', ['campaigns'])
    .option('--base <ref>', 'git ref to compare with (default: merge base with the default branch)')
    .option('--no-base', 'do not compare with a base')
    .option('--data <dir>', 'dataset directory (default: spec.plan.dataset of the Project)')
    .option('--now <timestamp>', 'start of the simulated window, ISO-8601 (default: dataset end minus the horizon)')
    .option('--horizon <duration>', 'length of the simulated window (default: spec.plan.horizon)')
    .option('--seed <n>', 'seed for simulated delivery, opens and clicks')
    .addOption(new Option('--format <format>', 'output format').choices(Object.keys(planReporters)).default('text'))
    .option('--out <file>', 'also write the plan as JSON to this file (for `herald show`)')
    .option('--detailed-exitcode', 'exit 2 when the configuration changed against the base', false)
    .option('--unmask', 'show emails and phones in full (never for pull requests)', false)
    .option('--strict-data', 'fail on bad dataset rows instead of skipping and counting them', false)
    .action((paths: string[], flags: PlanFlags) => {
      const seed = flags.seed === undefined ? undefined : Number(flags.seed);
      if (seed !== undefined && (!Number.isInteger(seed) || seed < 0)) throw new UserError('HER1023', `--seed ${flags.seed} is not a non-negative integer`, ExitCode.usage);
      const outcome = runPlan({
        paths,
        cwd: ctx.io.cwd,
        base: flags.base,
        data: flags.data,
        now: flags.now,
        horizon: flags.horizon,
        seed,
        unmask: flags.unmask,
        strictData: flags.strictData,
      });
      if (outcome.diagnostics.length) {
        const shown = outcome.report ? outcome.diagnostics.filter((d) => d.severity === 'warning') : outcome.diagnostics;
        if (shown.length) ctx.io.err(diagnosticsReporters.text({ diagnostics: shown, files: 0, cwd: ctx.io.cwd, strict: false }).replace(/\n[✓✗][^\n]*\n$/, '\n'));
      }
      if (outcome.failure || !outcome.report) {
        const f = outcome.failure ?? { kind: 'invalid', code: 'HER1000', message: 'nothing was planned' };
        throw new UserError(f.code, f.message, f.kind === 'unavailable' ? ExitCode.unavailable : f.kind === 'usage' ? ExitCode.usage : ExitCode.invalid, f.hint);
      }
      for (const note of outcome.notes) ctx.io.err(`note: ${note}\n`);
      const report = outcome.report;
      if (flags.out) writeFileSync(path.resolve(ctx.io.cwd, flags.out), planReporters.json(report));
      ctx.io.out(planReporters[flags.format](report));
      if (flags.format === 'github' && ctx.io.env.GITHUB_STEP_SUMMARY) appendFileSync(ctx.io.env.GITHUB_STEP_SUMMARY, githubStepSummary(report));
      const changes = report.summary.changes.added + report.summary.changes.changed + report.summary.changes.removed;
      if (report.summary.guards.error > 0) ctx.setExit(ExitCode.guard);
      else if (flags.detailedExitcode && changes > 0) ctx.setExit(ExitCode.changes);
      else ctx.setExit(ExitCode.ok);
    });
};
