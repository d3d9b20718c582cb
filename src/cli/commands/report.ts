import { Option } from 'commander';
import { didYouMean } from '../../diagnostics/suggest.js';
import { loadActiveProject } from '../../engine/config-versions.js';
import { funnelReport, renderFunnelText } from '../../engine/report-funnel.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { withStore, withStoreOptions, type StoreFlags } from './apply.js';

export const registerReport: RegisterCommand = (program, ctx) => {
  const report = program.command('report').description('reports from the engine database');
  withStoreOptions(
    report
      .command('funnel')
      .description("a journey's per-step funnel from the engine's rows, with the goal's uplift against the holdout")
      .requiredOption('--journey <name>', 'journey')
      .option('--since <timestamp>', 'runs entered since (ISO-8601; default: all)')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text')),
  ).action(async (flags: StoreFlags & { journey: string; since?: string; format: 'text' | 'json' }) => {
    const since = new Date(flags.since ?? 0);
    if (Number.isNaN(since.getTime())) throw new UserError('HER1023', `--since ${flags.since} is not an ISO-8601 timestamp`, ExitCode.usage);
    const result = await withStore(flags, ctx, { mustExist: true }, async (store) => {
      const active = await loadActiveProject(store);
      if (!active) throw new UserError('HER7103', 'no configuration is active in this database', ExitCode.invalid, 'run herald apply first');
      const journey = active.project.journeys.get(flags.journey);
      if (!journey) throw new UserError('HER4002', `unknown journey '${flags.journey}'`, ExitCode.usage, didYouMean(flags.journey, active.project.journeys.keys()));
      return funnelReport(store, journey, since);
    });
    ctx.io.out(flags.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderFunnelText(result));
    ctx.setExit(ExitCode.ok);
  });
};
