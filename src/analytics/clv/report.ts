// The `herald clv` report as data (JSON-able) plus its text rendering. The command (wired by the CLI owner)
// loads the project and dataset, builds the CSR transactions and calls buildClvReport; `herald segments`
// can show renderClvFitLines for the fitted parameters and the distribution of the clv.* values.
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { buildCalibrationReport, renderCalibrationText, type CalibrationReport } from './calibration.js';
import { clvInputValues, fitClv, type ClvFit, type ClvFitOptions } from './fit.js';
import { MS_PER_DAY, type ClvTransactions } from './summary.js';

export interface ClvReportInput {
  transactions: ClvTransactions;
  unitMs: number;
  /** Exclusive end of the calibration period (epoch ms; rounded up to a UTC midnight). */
  calibrationEnd: number;
  /** Exclusive end of the holdout period; absent = no calibration check. */
  holdoutEnd?: number;
  /** Horizon of the expected-purchases and value distributions (default one year). */
  horizonMs?: number;
  /** Annual discount rate for the value distribution (default none). */
  discountRate?: number;
  fitOptions?: Omit<ClvFitOptions, 'holdoutEnd'>;
}

export interface Distribution {
  /** Customers with a value, and those without (null). */
  count: number;
  nulls: number;
  mean: number | null;
  min: number | null;
  p10: number | null;
  p25: number | null;
  median: number | null;
  p75: number | null;
  p90: number | null;
  max: number | null;
}

export interface ClvReport {
  unitMs: number;
  calibrationEnd: string;
  holdoutEnd: string | null;
  customers: number;
  bgnbd: { r: number; alpha: number; a: number; b: number; logLikelihood: number; n: number; repeatBuyers: number } | null;
  gammaGamma: { p: number; q: number; gamma: number; logLikelihood: number; n: number; meanSpend: number | null } | null;
  /** Errors (no fit) and warnings (e.g. no Gamma-Gamma), in order. */
  diagnostics: Diagnostic[];
  distribution: { horizonMs: number; discountRate: number; pAlive: Distribution; expectedPurchases: Distribution; value: Distribution } | null;
  calibration: CalibrationReport | null;
}

/** Order statistics of the non-NaN values (linear interpolation between order statistics). */
export function summarizeDistribution(values: Float64Array): Distribution {
  const finite = Float64Array.from(values.filter((v) => Number.isFinite(v))).sort();
  const n = finite.length;
  const q = (p: number): number | null => {
    if (n === 0) return null;
    const pos = p * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return finite[lo] + (finite[hi] - finite[lo]) * (pos - lo);
  };
  let sum = 0;
  for (const v of finite) sum += v;
  return {
    count: n,
    nulls: values.length - n,
    mean: n > 0 ? sum / n : null,
    min: q(0),
    p10: q(0.1),
    p25: q(0.25),
    median: q(0.5),
    p75: q(0.75),
    p90: q(0.9),
    max: q(1),
  };
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Fit, distribution of the clv.* values over the cohort, and (with a holdout) the calibration check. */
export function buildClvReport(input: ClvReportInput): { report: ClvReport; fit: ClvFit } {
  const fit = fitClv(input.transactions, { unitMs: input.unitMs }, input.calibrationEnd, {
    ...input.fitOptions,
    ...(input.holdoutEnd !== undefined ? { holdoutEnd: input.holdoutEnd } : {}),
  });
  const s = fit.summary;
  let customers = 0;
  for (let i = 0; i < s.n; i++) customers += s.inCohort[i];
  const diagnostics = fit.ok ? [...fit.warnings] : [fit.diagnostic, ...fit.warnings];
  const report: ClvReport = {
    unitMs: input.unitMs,
    calibrationEnd: isoDay(s.calibrationEndDay * MS_PER_DAY),
    holdoutEnd: input.holdoutEnd !== undefined ? isoDay(s.holdoutEndDay * MS_PER_DAY) : null,
    customers,
    bgnbd: null,
    gammaGamma: null,
    diagnostics,
    distribution: null,
    calibration: null,
  };
  if (!fit.ok) return { report, fit };
  const { r, alpha, a, b, logLikelihood, n, repeatBuyers } = fit.bgnbd;
  report.bgnbd = { r, alpha, a, b, logLikelihood, n, repeatBuyers };
  if (fit.gammaGamma) {
    const g = fit.gammaGamma;
    report.gammaGamma = { p: g.p, q: g.q, gamma: g.gamma, logLikelihood: g.logLikelihood, n: g.n, meanSpend: g.meanSpend };
  }
  const horizonMs = input.horizonMs ?? 365.25 * MS_PER_DAY;
  const discountRate = input.discountRate ?? 0;
  const only = (v: Float64Array): Float64Array => v.filter((_, i) => s.inCohort[i] === 1);
  report.distribution = {
    horizonMs,
    discountRate,
    pAlive: summarizeDistribution(only(clvInputValues(fit, s, { kind: 'clv', key: 'p_alive', fn: 'p_alive' }))),
    expectedPurchases: summarizeDistribution(
      only(clvInputValues(fit, s, { kind: 'clv', key: 'expected_purchases', fn: 'expected_purchases', horizonMs })),
    ),
    value: summarizeDistribution(only(clvInputValues(fit, s, { kind: 'clv', key: 'value', fn: 'value', horizonMs, discountRate }))),
  };
  if (input.holdoutEnd !== undefined) {
    const cal = buildCalibrationReport(fit, s);
    if (cal.ok) report.calibration = cal.report;
    else report.diagnostics.push(cal.diagnostic);
  }
  return { report, fit };
}

const sig = (v: number | null, digits = 4): string => (v === null ? 'null' : Number(v.toPrecision(digits)).toString());

function durationText(ms: number): string {
  const days = ms / MS_PER_DAY;
  if (days % 7 === 0) return `${days / 7}w`;
  return `${Number(days.toPrecision(4))}d`;
}

/** The fitted parameters and the value distributions, a few lines (also for `herald segments`). */
export function renderClvFitLines(report: ClvReport): string[] {
  const lines: string[] = [];
  const unit = durationText(report.unitMs);
  if (report.bgnbd) {
    const f = report.bgnbd;
    lines.push(
      `BG/NBD       r=${sig(f.r)} alpha=${sig(f.alpha)} a=${sig(f.a)} b=${sig(f.b)}  LL=${f.logLikelihood.toFixed(2)}  ` +
        `(${f.n} customers, ${f.repeatBuyers} repeat buyers, unit ${unit}, calibration to ${report.calibrationEnd})`,
    );
  }
  if (report.gammaGamma) {
    const g = report.gammaGamma;
    lines.push(
      `Gamma-Gamma  p=${sig(g.p)} q=${sig(g.q)} gamma=${sig(g.gamma)}  LL=${g.logLikelihood.toFixed(2)}  ` +
        `(${g.n} repeat buyers, mean spend per transaction ${sig(g.meanSpend)})`,
    );
  }
  for (const d of report.diagnostics) lines.push(`${d.severity} ${d.code}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`);
  if (report.distribution) {
    const dist = report.distribution;
    const row = (name: string, v: Distribution): string =>
      `  ${name.padEnd(22)} p10=${sig(v.p10, 3)} p25=${sig(v.p25, 3)} median=${sig(v.median, 3)} p75=${sig(v.p75, 3)} p90=${sig(v.p90, 3)} mean=${sig(v.mean, 3)}` +
      (v.nulls > 0 ? ` (${v.nulls} null)` : '');
    lines.push(`Distribution over ${report.customers} customers, horizon ${durationText(dist.horizonMs)}:`);
    lines.push(row('clv.p_alive', dist.pAlive));
    lines.push(row('clv.expected_purchases', dist.expectedPurchases));
    lines.push(row(dist.discountRate > 0 ? `clv.value (${dist.discountRate * 100}%/y)` : 'clv.value', dist.value));
  }
  return lines;
}

/** The whole report as text (for `herald clv`). */
export function renderClvReportText(report: ClvReport): string {
  const parts = [renderClvFitLines(report).join('\n')];
  if (report.calibration) parts.push(renderCalibrationText(report.calibration));
  return parts.join('\n\n') + '\n';
}
