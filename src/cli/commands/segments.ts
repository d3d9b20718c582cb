import { Option } from 'commander';
import { clvInputValues, fitClv, renderClvFitLines } from '../../analytics/clv/index.js';
import { computeRfm } from '../../analytics/rfm.js';
import { computeAudiences } from '../../dataset/audiences.js';
import { buildSegmentReport, renderSegmentReportJson, renderSegmentReportText } from '../../dataset/segment-report.js';
import type { ClvInput } from '../../model/inputs.js';
import { clvReport, clvTransactions } from '../../plan/clv-section.js';
import { preparePlan } from '../../plan/run-plan.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { diagnosticsReporters } from '../reporters/diagnostics.js';

export const registerSegments: RegisterCommand = (program, ctx) => {
  program
    .command('segments')
    .description('audience of every segment at an instant: sizes, overlaps, the RFM grid and the CLV fit')
    .argument('[paths...]', 'configuration files or directories', ['campaigns'])
    .option('--data <dir>', 'dataset directory (default: spec.plan.dataset)')
    .option('--now <timestamp>', 'evaluate as of this instant, ISO-8601 (default: the last event of the dataset)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--unmask', 'show emails and phones in full', false)
    .action((paths: string[], flags: { data?: string; now?: string; format: 'text' | 'json'; unmask: boolean }) => {
      const prep = preparePlan({ paths, cwd: ctx.io.cwd, data: flags.data, now: flags.now, base: false });
      if (!prep.prepared) {
        const errors = prep.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) ctx.io.err(diagnosticsReporters.text({ diagnostics: errors, files: 0, cwd: ctx.io.cwd, strict: false }));
        throw new UserError(prep.failure!.code, prep.failure!.message, prep.failure!.kind === 'usage' ? ExitCode.usage : ExitCode.invalid);
      }
      const { head, dataset } = prep.prepared;
      const now = flags.now ? prep.prepared.now : (dataset.timeRange?.last ?? prep.prepared.now);
      const tx = clvTransactions(head, dataset);
      const fit = tx ? fitClv(tx.transactions, tx.settings, now) : undefined;
      const audiences = computeAudiences(
        dataset,
        head.segmentOrder.map((name) => ({ name, expression: head.segments.get(name)!.where })),
        now,
        {
          unmask: flags.unmask,
          bucketSeed: String(head.settings.plan.seed),
          clvProvider: (spec: ClvInput) => (fit?.ok ? clvInputValues(fit, fit.summary, spec) : undefined),
        },
      );
      const rfm = head.model.rfm ? computeRfm(dataset, now, head.model.rfm) : undefined;
      const report = buildSegmentReport(dataset, audiences, { rfm });
      const clv = tx ? clvReport(head, dataset, now, undefined) : undefined;
      if (flags.format === 'json') {
        ctx.io.out(JSON.stringify({ ...JSON.parse(renderSegmentReportJson(report)), clv: clv ?? null }, null, 2) + '\n');
      } else {
        ctx.io.out(renderSegmentReportText(report));
        if (clv) ctx.io.out(`\nCustomer value (BG/NBD + Gamma-Gamma, fitted on the history to ${clv.calibrationEnd}):\n${renderClvFitLines(clv).map((l) => `  ${l}`).join('\n')}\n`);
      }
      for (const d of audiences.diagnostics) ctx.io.err(`${d.severity}[${d.code}]: ${d.message}\n`);
      ctx.setExit(ExitCode.ok);
    });
};
