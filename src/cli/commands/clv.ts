import { Option } from 'commander';
import { clvReport } from '../../plan/clv-section.js';
import { preparePlan } from '../../plan/run-plan.js';
import { renderCalibrationSvg, renderClvReportText } from '../../analytics/clv/index.js';
import { ExitCode, UserError } from '../exit-codes.js';
import type { RegisterCommand } from '../main.js';
import { diagnosticsReporters } from '../reporters/diagnostics.js';

export const registerClv: RegisterCommand = (program, ctx) => {
  program
    .command('clv')
    .description('fit BG/NBD and Gamma-Gamma on a dataset and check the fit against a holdout period')
    .argument('[paths...]', 'configuration files or directories', ['campaigns'])
    .option('--data <dir>', 'dataset directory (default: spec.plan.dataset)')
    .option('--calibration-end <timestamp>', 'end of the calibration period (default: the middle of the data)')
    .option('--holdout-end <timestamp>', 'end of the holdout period (default: the end of the data)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'svg']).default('text'))
    .action((paths: string[], flags: { data?: string; calibrationEnd?: string; holdoutEnd?: string; format: 'text' | 'json' | 'svg' }) => {
      const prep = preparePlan({ paths, cwd: ctx.io.cwd, data: flags.data, base: false });
      if (!prep.prepared) {
        const errors = prep.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) ctx.io.err(diagnosticsReporters.text({ diagnostics: errors, files: 0, cwd: ctx.io.cwd, strict: false }));
        throw new UserError(prep.failure!.code, prep.failure!.message, prep.failure!.kind === 'usage' ? ExitCode.usage : ExitCode.invalid);
      }
      const { head, dataset } = prep.prepared;
      if (!head.model.clv) throw new UserError('HER2015', 'the Project declares no clv (or rfm monetary) settings', ExitCode.invalid, 'add spec.clv: { unit: week, transaction: purchase.amount }');
      const range = dataset.timeRange;
      if (!range) throw new UserError('HER5801', 'the dataset has no events');
      const parse = (flag: string | undefined, name: string, fallback: number) => {
        if (flag === undefined) return fallback;
        const t = Date.parse(flag);
        if (Number.isNaN(t)) throw new UserError('HER1023', `--${name} ${flag} is not an ISO-8601 timestamp`, ExitCode.usage);
        return t;
      };
      const holdoutEnd = parse(flags.holdoutEnd, 'holdout-end', range.last + 1);
      const calibrationEnd = parse(flags.calibrationEnd, 'calibration-end', range.first + Math.floor((holdoutEnd - range.first) / 2));
      if (calibrationEnd >= holdoutEnd) throw new UserError('HER5807', '--calibration-end must be before --holdout-end', ExitCode.usage);
      const report = clvReport(head, dataset, calibrationEnd, holdoutEnd);
      if (!report) throw new UserError('HER2015', `the dataset has no numeric ${head.model.clv.transaction.event}.${head.model.clv.transaction.prop}`);
      if (flags.format === 'json') ctx.io.out(JSON.stringify(report, null, 2) + '\n');
      else if (flags.format === 'svg') ctx.io.out(report.calibration ? renderCalibrationSvg(report.calibration) : '');
      else ctx.io.out(renderClvReportText(report));
      for (const d of report.diagnostics) if (flags.format === 'text') ctx.io.err(`${d.severity}[${d.code}]: ${d.message}\n`);
      ctx.setExit(report.bgnbd ? ExitCode.ok : ExitCode.invalid);
    });
};

