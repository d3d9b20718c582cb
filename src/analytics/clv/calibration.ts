// Calibration / holdout check of a BG/NBD fit: the model is fitted on the calibration period and asked how
// many repeat purchases each customer makes in the holdout period that follows; the report sets that
// against what they did, by calibration frequency (the paper's conditional-expectations figure) and over
// time (its cumulative tracking figure).
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { bgnbdConditionalExpectedPurchases, bgnbdExpectedPurchases } from './bgnbd.js';
import { clvCodeTitle } from './codes.js';
import type { ClvFit } from './fit.js';
import { MS_PER_DAY, type ClvSummary } from './summary.js';

export interface CalibrationBucket {
  /** "0", "1", … "7+": repeat purchases in the calibration period. */
  label: string;
  customers: number;
  /** Mean repeat purchases per customer in the holdout, actual and predicted. */
  actual: number;
  predicted: number;
}

export interface TrackingPoint {
  /** Periods (model units) since the cohort's first purchase day. */
  period: number;
  /** ISO date of the period's end (exclusive). */
  date: string;
  actualCumulative: number;
  predictedCumulative: number;
}

export interface CalibrationReport {
  unitMs: number;
  /** ISO dates: first day after the calibration period, first day after the holdout. */
  calibrationEnd: string;
  holdoutEnd: string;
  /** Holdout length in model units. */
  holdoutUnits: number;
  buckets: CalibrationBucket[];
  totals: { customers: number; actual: number; predicted: number; relativeError: number | null };
  /** Cumulative repeat purchases of the cohort over calibration + holdout (at most ~200 points). */
  tracking: TrackingPoint[];
  /** Index into `tracking` of the last point inside the calibration period. */
  trackingCalibrationEnd: number;
}

export type CalibrationOutcome = { ok: true; report: CalibrationReport } | { ok: false; diagnostic: Diagnostic };

const BUCKETS = 8; // 0..6 and 7+
const MAX_POINTS = 200;

const isoDay = (day: number): string => new Date(day * MS_PER_DAY).toISOString().slice(0, 10);

export function buildCalibrationReport(fit: ClvFit, summary: ClvSummary): CalibrationOutcome {
  if (!fit.ok) return { ok: false, diagnostic: fit.diagnostic };
  if (summary.holdoutEndDay <= summary.calibrationEndDay) {
    return {
      ok: false,
      diagnostic: { code: 'HER5808', severity: 'error', message: `${clvCodeTitle('HER5808')}: the data end at the calibration end`, hint: 'choose a calibration end before the end of the data' },
    };
  }
  const p = fit.bgnbd;
  const unitsPerDay = MS_PER_DAY / summary.unitMs;
  const holdoutUnits = (summary.holdoutEndDay - summary.calibrationEndDay) * unitsPerDay;

  const count = new Array<number>(BUCKETS).fill(0);
  const actual = new Array<number>(BUCKETS).fill(0);
  const predicted = new Array<number>(BUCKETS).fill(0);
  for (let i = 0; i < summary.n; i++) {
    if (!summary.inCohort[i]) continue;
    const k = Math.min(summary.x[i], BUCKETS - 1);
    count[k]++;
    actual[k] += summary.holdoutX[i];
    predicted[k] += bgnbdConditionalExpectedPurchases(p, holdoutUnits, summary.x[i], summary.tx[i], summary.T[i]);
  }
  const buckets: CalibrationBucket[] = count.map((c, k) => ({
    label: k === BUCKETS - 1 ? `${k}+` : String(k),
    customers: c,
    actual: c > 0 ? actual[k] / c : 0,
    predicted: c > 0 ? predicted[k] / c : 0,
  }));
  const totalActual = actual.reduce((s, v) => s + v, 0);
  const totalPredicted = predicted.reduce((s, v) => s + v, 0);
  const customers = count.reduce((s, v) => s + v, 0);
  const { points, calibrationIndex } = buildTracking(fit, summary);
  return {
    ok: true,
    report: {
      unitMs: summary.unitMs,
      calibrationEnd: isoDay(summary.calibrationEndDay),
      holdoutEnd: isoDay(summary.holdoutEndDay),
      holdoutUnits,
      buckets,
      totals: {
        customers,
        actual: totalActual,
        predicted: totalPredicted,
        relativeError: totalActual > 0 ? (totalPredicted - totalActual) / totalActual : null,
      },
      tracking: points,
      trackingCalibrationEnd: calibrationIndex,
    },
  };
}

/**
 * Cumulative repeat purchases of the cohort at the end of each period, actual against Σ_i E[X(t − s_i)]
 * (eq. 9 summed over customers by first-purchase day). Purchases sit at the end of their day, as in the
 * summary, so a customer first seen on day f has age b − 1 − f at the start of day b.
 */
function buildTracking(fit: ClvFit & { ok: true }, summary: ClvSummary): { points: TrackingPoint[]; calibrationIndex: number } {
  const byFirst = new Map<number, number>();
  let origin = Infinity;
  for (let i = 0; i < summary.n; i++) {
    if (!summary.inCohort[i]) continue;
    const f = summary.firstDay[i];
    byFirst.set(f, (byFirst.get(f) ?? 0) + 1);
    if (f < origin) origin = f;
  }
  const end = summary.holdoutEndDay;
  const span = end - origin;
  const perDay = new Float64Array(span + 1);
  const addDays = (csr: { offsets: Int32Array; days: Int32Array }): void => {
    for (let i = 0; i < summary.n; i++) {
      if (!summary.inCohort[i]) continue;
      for (let k = csr.offsets[i]; k < csr.offsets[i + 1]; k++) perDay[csr.days[k] - origin]++;
    }
  };
  addDays(summary.repeatDays);
  addDays(summary.holdoutDays);
  const cumulative = new Float64Array(span + 1); // cumulative[d] = purchases on days < origin + d
  for (let d = 1; d <= span; d++) cumulative[d] = cumulative[d - 1] + perDay[d - 1];

  const unitDays = summary.unitMs / MS_PER_DAY;
  const periods = Math.ceil(span / unitDays);
  const stride = Math.max(1, Math.ceil(periods / MAX_POINTS));
  const unitsPerDay = 1 / unitDays;
  const firstDays = [...byFirst.entries()];
  const points: TrackingPoint[] = [];
  let calibrationIndex = -1;
  for (let k = stride; k < periods + stride; k += stride) {
    const period = Math.min(k, periods);
    const boundary = Math.min(end, origin + Math.round(period * unitDays));
    let pred = 0;
    for (const [f, n] of firstDays) {
      const age = boundary - 1 - f;
      if (age > 0) pred += n * bgnbdExpectedPurchases(fit.bgnbd, age * unitsPerDay);
    }
    if (boundary <= summary.calibrationEndDay) calibrationIndex = points.length;
    points.push({ period, date: isoDay(boundary), actualCumulative: cumulative[boundary - origin], predictedCumulative: pred });
    if (period === periods) break;
  }
  return { points, calibrationIndex };
}

const fmt = (v: number, digits = 3): string => v.toFixed(digits);

/** Plain-text tables of the report (for `herald clv`). */
export function renderCalibrationText(report: CalibrationReport): string {
  const lines: string[] = [];
  const unitDays = report.unitMs / MS_PER_DAY;
  lines.push(
    `Holdout ${report.calibrationEnd} → ${report.holdoutEnd} (${fmt(report.holdoutUnits, 2)} units of ${fmt(unitDays, 2)} days): repeat purchases per customer`,
  );
  lines.push('  calib. x   customers     actual  predicted');
  for (const b of report.buckets) {
    lines.push(`  ${b.label.padStart(8)}  ${String(b.customers).padStart(10)}  ${fmt(b.actual).padStart(9)}  ${fmt(b.predicted).padStart(9)}`);
  }
  const t = report.totals;
  const err = t.relativeError === null ? 'n/a' : `${(t.relativeError * 100).toFixed(1)}%`;
  lines.push(`  total     ${String(t.customers).padStart(10)}  ${fmt(t.actual, 0).padStart(9)}  ${fmt(t.predicted, 1).padStart(9)}  (error ${err})`);
  return lines.join('\n');
}
