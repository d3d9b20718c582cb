// Fitting both CLV models on a project's transactions, and the per-customer values of `clv.*` expression
// inputs. Problems come back as diagnostics (HER58xx, codes.ts), never as exceptions or NaN in a segment:
// the host treats a NaN value as null.
import { assertNever, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { ClvSettings } from '../../model/data-model.js';
import type { ClvInput } from '../../model/inputs.js';
import {
  bgnbdAliveDiscountedExpectation,
  bgnbdAliveExpectation,
  bgnbdPAlive,
  compressBgNbdRows,
  fitBgNbd,
  type BgNbdParams,
} from './bgnbd.js';
import { clvCodeTitle, type ClvCode } from './codes.js';
import { fitGammaGamma, gammaGammaExpectedSpend, gammaGammaRows, type GammaGammaParams } from './gamma-gamma.js';
import { MS_PER_DAY, summarizeTransactions, type ClvSummary, type ClvTransactions } from './summary.js';

/**
 * Fewest customers with a repeat purchase for a BG/NBD fit. Below this the dropout parameters (a, b) are
 * not identified in practice: the likelihood is flat and the fit lands on a boundary. 30 is the usual
 * rule-of-thumb sample for a stable mean; CDNOW's sample has 946.
 */
export const MIN_REPEAT_BUYERS = 30;
/** Fewest repeat buyers with a positive mean spend for a Gamma-Gamma fit (same reasoning). */
export const MIN_SPEND_BUYERS = 30;
/** A fitted log-parameter beyond ±25 (a factor 7·10¹⁰) means the optimum is at a boundary of the model. */
const MAX_ABS_LOG_PARAM = 25;
const MS_PER_YEAR = 365.25 * MS_PER_DAY;
/**
 * Below this mean dropout probability per purchase the fit has run to the boundary a → 0 (no customer ever
 * leaves): still a valid NBD model, but P(alive) carries no information, which the user should know.
 */
const MIN_MEAN_DROPOUT = 1e-4;

export interface ClvFitOptions {
  /** End of a holdout period (epoch ms), summarised for the calibration check. */
  holdoutEnd?: number;
  minRepeatBuyers?: number;
  minSpendBuyers?: number;
}

export interface BgNbdFit extends BgNbdParams {
  logLikelihood: number;
  /** Customers in the fit (first purchase in the calibration period). */
  n: number;
  repeatBuyers: number;
  iterations: number;
  evaluations: number;
}

export interface GammaGammaFit extends GammaGammaParams {
  logLikelihood: number;
  /** Repeat buyers with a positive mean spend. */
  n: number;
  /** Population mean spend per transaction pγ/(q−1); null when q <= 1. */
  meanSpend: number | null;
}

interface FitBase {
  unitMs: number;
  /** Epoch ms of the first UTC midnight after the calibration period. */
  calibrationEnd: number;
  summary: ClvSummary;
  /** Problems that leave the fit usable (e.g. no Gamma-Gamma model, so clv.value is null). */
  warnings: Diagnostic[];
}

export type ClvFit =
  | (FitBase & { ok: true; bgnbd: BgNbdFit; gammaGamma: GammaGammaFit | null })
  | (FitBase & { ok: false; diagnostic: Diagnostic });

function diag(code: ClvCode, severity: 'error' | 'warning', detail: string, hint?: string): Diagnostic {
  const d: Diagnostic = { code, severity, message: `${clvCodeTitle(code)}: ${detail}` };
  if (hint !== undefined) d.hint = hint;
  return d;
}

/** Summarise the transactions at calibrationEnd and fit both models. */
export function fitClv(
  transactions: ClvTransactions,
  settings: Pick<ClvSettings, 'unitMs'>,
  calibrationEnd: number,
  options: ClvFitOptions = {},
): ClvFit {
  const bad = checkPeriods(settings.unitMs, calibrationEnd, options.holdoutEnd);
  const summary = summarizeTransactions(transactions, {
    unitMs: bad ? MS_PER_DAY : settings.unitMs,
    calibrationEnd: Number.isFinite(calibrationEnd) ? calibrationEnd : 0,
    ...(options.holdoutEnd !== undefined && Number.isFinite(options.holdoutEnd) ? { holdoutEnd: options.holdoutEnd } : {}),
  });
  if (bad) return { ok: false, unitMs: settings.unitMs, calibrationEnd, summary, warnings: [], diagnostic: bad };
  return fitClvSummary(summary, options);
}

function checkPeriods(unitMs: number, calibrationEnd: number, holdoutEnd: number | undefined): Diagnostic | null {
  if (!(Number.isFinite(unitMs) && unitMs > 0)) {
    return diag('HER5807', 'error', `the time unit must be a positive duration, got ${unitMs} ms`);
  }
  if (!Number.isFinite(calibrationEnd)) return diag('HER5807', 'error', 'the calibration end is not a valid time');
  if (holdoutEnd !== undefined && !(Number.isFinite(holdoutEnd) && holdoutEnd >= calibrationEnd)) {
    return diag('HER5807', 'error', 'the holdout must end after the calibration period');
  }
  return null;
}

/** Fit both models on an existing summary (bench and tests start here). */
export function fitClvSummary(summary: ClvSummary, options: ClvFitOptions = {}): ClvFit {
  const base: FitBase = {
    unitMs: summary.unitMs,
    calibrationEnd: summary.calibrationEndDay * MS_PER_DAY,
    summary,
    warnings: [],
  };
  const minRepeat = options.minRepeatBuyers ?? MIN_REPEAT_BUYERS;
  const minSpend = options.minSpendBuyers ?? MIN_SPEND_BUYERS;
  let customers = 0;
  let repeatBuyers = 0;
  for (let i = 0; i < summary.n; i++) {
    if (!summary.inCohort[i]) continue;
    customers++;
    if (summary.x[i] > 0) repeatBuyers++;
  }
  const end = new Date(base.calibrationEnd).toISOString().slice(0, 10);
  if (customers === 0) {
    return {
      ...base,
      ok: false,
      diagnostic: diag('HER5801', 'error', `no customer has a transaction before ${end}`, 'check that clv.transaction names the purchase event and that the data covers the calibration period'),
    };
  }
  if (repeatBuyers < minRepeat) {
    return {
      ...base,
      ok: false,
      diagnostic: diag(
        'HER5802',
        'error',
        `${repeatBuyers} of ${customers} customers bought again before ${end}; BG/NBD needs at least ${minRepeat}`,
        'clv.* values are null until the data has more repeat buyers (a longer history, or all purchase events mapped)',
      ),
    };
  }

  const bg = fitBgNbd(compressBgNbdRows(summary.x, summary.tx, summary.T, summary.inCohort));
  const bgLog = [bg.params.r, bg.params.alpha, bg.params.a, bg.params.b].map(Math.log);
  if (!bg.optimizer.converged || !Number.isFinite(bg.logLikelihood) || bgLog.some((v) => !(Math.abs(v) < MAX_ABS_LOG_PARAM))) {
    const names = ['r', 'alpha', 'a', 'b'];
    const runaway = bgLog.map((v, k) => (Math.abs(v) < MAX_ABS_LOG_PARAM ? null : names[k])).filter((v) => v !== null);
    const detail = runaway.length > 0
      ? `parameter ${runaway.join(', ')} ran off to a boundary (the data look like a model without dropout or without heterogeneity)`
      : `optimiser stopped with status ${bg.optimizer.status} after ${bg.optimizer.iterations} iterations`;
    return { ...base, ok: false, diagnostic: diag('HER5803', 'error', detail, 'check the time unit and the calibration period; clv.* values are null') };
  }
  const bgnbd: BgNbdFit = {
    ...bg.params,
    logLikelihood: bg.logLikelihood,
    n: customers,
    repeatBuyers,
    iterations: bg.optimizer.iterations,
    evaluations: bg.optimizer.evaluations,
  };

  const warnings: Diagnostic[] = [];
  const meanDropout = bgnbd.a / (bgnbd.a + bgnbd.b);
  if (meanDropout < MIN_MEAN_DROPOUT) {
    warnings.push(
      diag(
        'HER5809',
        'warning',
        `the mean dropout probability a/(a+b) is ${meanDropout.toPrecision(2)}: the fit is the NBD limit, clv.p_alive is 1 for everyone`,
        'a longer calibration period, or one that ends after some customers have lapsed, lets the model see dropout',
      ),
    );
  }
  let gammaGamma: GammaGammaFit | null = null;
  const ggData = gammaGammaRows(summary.mxCount, summary.mx, summary.inCohort);
  if (ggData.x.length < minSpend) {
    warnings.push(diag('HER5804', 'warning', `${ggData.x.length} repeat buyers with a positive spend; Gamma-Gamma needs at least ${minSpend}`, 'clv.value is null'));
  } else {
    const gg = fitGammaGamma(ggData);
    const ggLog = [gg.params.p, gg.params.q, gg.params.gamma].map(Math.log);
    if (!gg.optimizer.converged || !Number.isFinite(gg.logLikelihood) || ggLog.some((v) => !(Math.abs(v) < MAX_ABS_LOG_PARAM))) {
      warnings.push(diag('HER5805', 'warning', `optimiser stopped with status ${gg.optimizer.status}`, 'clv.value is null'));
    } else {
      const meanSpend = gg.params.q > 1 ? (gg.params.p * gg.params.gamma) / (gg.params.q - 1) : null;
      if (meanSpend === null) {
        warnings.push(diag('HER5806', 'warning', `q = ${gg.params.q.toPrecision(3)}`, 'clv.value is null for customers without enough repeat purchases'));
      }
      gammaGamma = { ...gg.params, logLikelihood: gg.logLikelihood, n: ggData.x.length, meanSpend };
    }
  }
  return { ...base, warnings, ok: true, bgnbd, gammaGamma };
}

/**
 * Per-customer values of one `clv.*` input, in summary order. NaN stands for null: outside the cohort, no
 * fit, no Gamma-Gamma fit (value), a missing or negative horizon, or a number the model cannot give.
 */
export function clvInputValues(fit: ClvFit, summary: ClvSummary, spec: ClvInput): Float64Array {
  const out = new Float64Array(summary.n).fill(Number.NaN);
  if (!fit.ok) return out;
  const bg: BgNbdParams = fit.bgnbd;
  const unitMs = fit.unitMs;
  const { x, tx, T, inCohort } = summary;
  switch (spec.fn) {
    case 'p_alive':
      for (let i = 0; i < summary.n; i++) if (inCohort[i]) out[i] = bgnbdPAlive(bg, x[i], tx[i], T[i]);
      break;
    case 'expected_purchases':
    case 'value': {
      const horizonMs = spec.horizonMs;
      if (horizonMs === undefined || !(horizonMs >= 0) || !Number.isFinite(horizonMs)) return out;
      const rate = spec.fn === 'value' ? (spec.discountRate ?? 0) : 0;
      if (!(rate > -1) || !Number.isFinite(rate)) return out;
      const gg = fit.gammaGamma;
      if (spec.fn === 'value' && gg === null) return out;
      const t = horizonMs / unitMs;
      const delta = (Math.log1p(rate) * unitMs) / MS_PER_YEAR;
      const maxStep = MS_PER_YEAR / 12 / unitMs;
      // The alive-conditional expectation depends on (x, T) only; customers share few distinct pairs.
      // Keyed by number, x then T: building a string key per customer cost more than the model.
      const cache = new Map<number, Map<number, number>>();
      for (let i = 0; i < summary.n; i++) {
        if (!inCohort[i]) continue;
        let byT = cache.get(x[i]);
        if (byT === undefined) cache.set(x[i], (byT = new Map()));
        let e = byT.get(T[i]);
        if (e === undefined) {
          e = delta === 0 ? bgnbdAliveExpectation(bg, t, x[i], T[i]) : bgnbdAliveDiscountedExpectation(bg, t, x[i], T[i], delta, maxStep);
          byT.set(T[i], e);
        }
        let v = bgnbdPAlive(bg, x[i], tx[i], T[i]) * e;
        if (spec.fn === 'value' && gg !== null) v *= gammaGammaExpectedSpend(gg, summary.mxCount[i], summary.mx[i]);
        out[i] = v;
      }
      break;
    }
    default:
      return assertNever(spec.fn, 'clv function');
  }
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) out[i] = Number.NaN;
  return out;
}
