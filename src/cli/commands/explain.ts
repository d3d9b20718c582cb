import { Masker } from '../../plan/build-report.js';
import { derivedProvider } from '../../plan/derived-inputs.js';
import { checkSegments, renderExplanation } from '../../plan/explain.js';
import { preparePlan } from '../../plan/run-plan.js';
import { simulate } from '../../plan/simulate.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { diagnosticsReporters } from '../reporters/diagnostics.js';
import { didYouMean } from '../../diagnostics/suggest.js';

export const registerExplain: RegisterCommand = (program, ctx) => {
  program
    .command('explain')
    .description("why a customer did or did not get each message: segment conditions, steps, caps, quiet hours, cascade steps")
    .argument('<customer>', 'customer id')
    .argument('[paths...]', 'configuration files or directories', ['campaigns'])
    .option('--journey <name>', 'only this journey')
    .option('--data <dir>', 'dataset directory')
    .option('--now <timestamp>', 'start of the window, ISO-8601')
    .option('--horizon <duration>', 'length of the window')
    .option('--seed <n>', 'seed')
    .option('--unmask', 'show emails and phones in full', false)
    .action((customerId: string, paths: string[], flags: { journey?: string; data?: string; now?: string; horizon?: string; seed?: string; unmask: boolean }) => {
      const prep = preparePlan({ paths, cwd: ctx.io.cwd, data: flags.data, now: flags.now, horizon: flags.horizon, seed: flags.seed === undefined ? undefined : Number(flags.seed) });
      if (!prep.prepared) {
        const errors = prep.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) ctx.io.err(diagnosticsReporters.text({ diagnostics: errors, files: 0, cwd: ctx.io.cwd, strict: false }));
        const f = prep.failure!;
        throw new UserError(f.code, f.message, f.kind === 'usage' ? ExitCode.usage : ExitCode.invalid);
      }
      const { head, dataset, now, horizonMs, seed } = prep.prepared;
      const customer = dataset.customerIndex(customerId);
      if (customer < 0) throw new UserError('HER5031', `no customer '${customerId}' in the dataset`);
      if (flags.journey && !head.journeys.has(flags.journey)) {
        throw new UserError('HER4002', `unknown journey '${flags.journey}'`, ExitCode.usage, didYouMean(flags.journey, head.journeys.keys()));
      }
      const derived = derivedProvider(head, dataset, now);
      const result = simulate(head, dataset, { now, horizonMs, seed, traceCustomers: [customer], derived });
      const journeys = [...head.journeys.values()].filter((j) => !flags.journey || j.meta.name === flags.journey);
      const segments = [...new Set(journeys.flatMap((j) => (j.entry.kind !== 'event' && j.entry.segment ? [j.entry.segment] : [])))];
      const checks = checkSegments(head, dataset, customer, now, derived, segments);
      const masker = new Masker(head, flags.unmask);
      ctx.io.out(renderExplanation(head, dataset, customer, result, checks, flags.journey, masker.contact(dataset.profile(customer))));
      ctx.setExit(ExitCode.ok);
    });
};
