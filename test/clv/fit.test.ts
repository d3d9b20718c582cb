import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClvInput } from '../../src/model/inputs.js';
import { CLV_CODES } from '../../src/analytics/clv/codes.js';
import { bgnbdConditionalExpectedPurchases, bgnbdPAlive } from '../../src/analytics/clv/bgnbd.js';
import { clvInputValues, fitClv, fitClvSummary, MIN_REPEAT_BUYERS, type ClvFit } from '../../src/analytics/clv/fit.js';
import { gammaGammaExpectedSpend } from '../../src/analytics/clv/gamma-gamma.js';
import { MS_PER_DAY, transactionsFromRows, type ClvSummary } from '../../src/analytics/clv/summary.js';
import { CALIBRATION_END, loadCdnowSample, sig, WEEK } from './support/cdnow.js';

const YEAR = 365.25 * MS_PER_DAY;
const spec = (fn: ClvInput['fn'], horizonMs?: number, discountRate?: number): ClvInput => ({
  kind: 'clv',
  key: `clv.${fn}(${horizonMs ?? ''},${discountRate ?? ''})`,
  fn,
  ...(horizonMs !== undefined ? { horizonMs } : {}),
  ...(discountRate !== undefined ? { discountRate } : {}),
});

/** A summary made directly from (x, t_x, T, mx) rows, all in the cohort. */
function summaryOf(rows: { x: number; tx: number; T: number; mx: number }[], unitMs = WEEK): ClvSummary {
  const n = rows.length;
  const f = (g: (r: (typeof rows)[number]) => number): Float64Array => Float64Array.from(rows, g);
  const empty = { offsets: new Int32Array(n + 1), days: new Int32Array(0) };
  return {
    n,
    unitMs,
    calibrationEndDay: 10_000,
    holdoutEndDay: 10_000,
    inCohort: new Uint8Array(n).fill(1),
    x: f((r) => r.x),
    tx: f((r) => r.tx),
    T: f((r) => r.T),
    mx: f((r) => r.mx),
    mxCount: f((r) => r.x),
    firstDay: new Float64Array(n),
    holdoutX: new Float64Array(n),
    holdoutDays: empty,
    repeatDays: empty,
  };
}

describe('fitClv on the CDNOW sample', () => {
  const { data, summary } = loadCdnowSample();
  const fit = fitClv(data.transactions, { unitMs: WEEK }, CALIBRATION_END);

  it('fits both models with the published values', () => {
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    expect([sig(fit.bgnbd.r), sig(fit.bgnbd.alpha, 4), sig(fit.bgnbd.a), sig(fit.bgnbd.b, 4)]).toEqual([0.243, 4.414, 0.793, 2.426]);
    expect(fit.bgnbd.logLikelihood).toBeCloseTo(-9582.43, 2);
    expect([fit.bgnbd.n, fit.bgnbd.repeatBuyers]).toEqual([2357, 946]);
    expect(fit.gammaGamma).not.toBeNull();
    expect([sig(fit.gammaGamma!.p), sig(fit.gammaGamma!.q), sig(fit.gammaGamma!.gamma, 4)]).toEqual([6.25, 3.74, 15.44]);
    expect(fit.gammaGamma!.n).toBe(946);
    expect(fit.warnings).toEqual([]);
  });

  it('computes clv.* per customer from the fit', () => {
    if (!fit.ok) throw new Error('fit failed');
    const pAlive = clvInputValues(fit, fit.summary, spec('p_alive'));
    const purchases = clvInputValues(fit, fit.summary, spec('expected_purchases', 39 * WEEK));
    const value = clvInputValues(fit, fit.summary, spec('value', 39 * WEEK));
    const discounted = clvInputValues(fit, fit.summary, spec('value', 39 * WEEK, 0.1));
    for (let i = 0; i < summary.n; i++) {
      const { x, tx, T } = { x: summary.x[i], tx: summary.tx[i], T: summary.T[i] };
      expect(pAlive[i]).toBeCloseTo(bgnbdPAlive(fit.bgnbd, x, tx, T), 14);
      expect(purchases[i]).toBeCloseTo(bgnbdConditionalExpectedPurchases(fit.bgnbd, 39, x, tx, T), 12);
      expect(value[i]).toBeCloseTo(purchases[i] * gammaGammaExpectedSpend(fit.gammaGamma!, summary.mxCount[i], summary.mx[i]), 9);
      expect(discounted[i]).toBeLessThanOrEqual(value[i]);
    }
  });

  it('gives null (NaN) for a missing or negative horizon and a discount rate <= −100%', () => {
    if (!fit.ok) throw new Error('fit failed');
    expect(clvInputValues(fit, fit.summary, spec('expected_purchases')).every(Number.isNaN)).toBe(true);
    expect(clvInputValues(fit, fit.summary, spec('value', -WEEK)).every(Number.isNaN)).toBe(true);
    expect(clvInputValues(fit, fit.summary, spec('value', WEEK, -1)).every(Number.isNaN)).toBe(true);
    expect(clvInputValues(fit, fit.summary, spec('expected_purchases', 0)).every((v) => v === 0)).toBe(true);
  });
});

describe('fitClv diagnostics', () => {
  const codes = new Set(CLV_CODES.map((c) => c.code));

  it('declares every code it uses, once, in the HER58xx range', () => {
    expect(codes.size).toBe(CLV_CODES.length);
    for (const c of CLV_CODES) expect(c.code).toMatch(/^HER58\d\d$/);
  });

  it('HER5801 when nobody bought in the calibration period', () => {
    const tx = transactionsFromRows([0], [CALIBRATION_END + MS_PER_DAY], [10], 1);
    const fit = fitClv(tx, { unitMs: WEEK }, CALIBRATION_END);
    expect(fit.ok).toBe(false);
    if (!fit.ok) expect(fit.diagnostic.code).toBe('HER5801');
    expect(clvInputValues(fit, fit.summary, spec('p_alive')).every(Number.isNaN)).toBe(true);
  });

  it(`HER5802 with fewer than ${MIN_REPEAT_BUYERS} repeat buyers, and every clv.* value null`, () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({ x: i < MIN_REPEAT_BUYERS - 1 ? 2 : 0, tx: i < MIN_REPEAT_BUYERS - 1 ? 10 : 0, T: 30, mx: 20 }));
    const fit = fitClvSummary(summaryOf(rows));
    expect(fit.ok).toBe(false);
    if (fit.ok) return;
    expect(fit.diagnostic.code).toBe('HER5802');
    expect(fit.diagnostic.severity).toBe('error');
    expect(fit.diagnostic.message).toContain(`${MIN_REPEAT_BUYERS - 1} of 500 customers bought again`);
    for (const fn of ['p_alive', 'expected_purchases', 'value'] as const) {
      expect(clvInputValues(fit, fit.summary, spec(fn, YEAR)).every(Number.isNaN)).toBe(true);
    }
  });

  it('HER5807 for a time unit that is not a positive duration', () => {
    const { data } = loadCdnowSample();
    const fit = fitClv(data.transactions, { unitMs: 0 }, CALIBRATION_END);
    expect(fit.ok ? null : fit.diagnostic.code).toBe('HER5807');
  });

  it('HER5804 warning and null clv.value when too few repeat buyers have a positive spend', () => {
    const { summary } = loadCdnowSample();
    const freeOrders = { ...summary, mx: summary.mx.map((v, i) => (i % 50 === 0 ? v : 0)) };
    const fit = fitClvSummary(freeOrders);
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    expect(fit.gammaGamma).toBeNull();
    expect(fit.warnings.map((w) => w.code)).toEqual(['HER5804']);
    expect(clvInputValues(fit, fit.summary, spec('value', YEAR)).every(Number.isNaN)).toBe(true);
    expect(clvInputValues(fit, fit.summary, spec('p_alive')).some(Number.isNaN)).toBe(false);
  });

  it('HER5809 warning when the data show no dropout (NBD limit)', () => {
    // Everybody buys steadily until the end: regular Poisson-like buyers, none lapsing.
    const rows = Array.from({ length: 400 }, (_, i) => {
      const rate = 0.2 + (i % 20) / 20;
      const T = 30 + (i % 7);
      const x = Math.round(rate * T);
      return { x, tx: x > 0 ? T - ((i * 7) % 10) / 10 : 0, T, mx: 10 };
    });
    const fit = fitClvSummary(summaryOf(rows));
    expect(fit.ok).toBe(true);
    if (fit.ok) expect(fit.warnings.map((w) => w.code)).toContain('HER5809');
  });
});

describe('clvInputValues never gives the host a NaN for a customer the model covers (property)', () => {
  const { summary } = loadCdnowSample();
  const cdnow = fitClvSummary(summary) as ClvFit & { ok: true };

  it('p_alive ∈ [0,1], expected purchases and value finite and >= 0, for edge customers and horizons', () => {
    const customer = fc
      .tuple(
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1000, max: 200_000 })),
        fc.oneof(fc.constant(0), fc.double({ min: 0, max: 500, noNaN: true })),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 1e5, noNaN: true })),
      )
      .map(([x, T, frac, mx]) => ({ x, T, tx: x === 0 ? 0 : T * frac, mx: x === 0 ? 0 : mx }));
    fc.assert(
      fc.property(
        fc.array(customer, { minLength: 1, maxLength: 20 }),
        fc.oneof(fc.constant(0), fc.double({ min: 1, max: 100 * YEAR, noNaN: true })),
        fc.oneof(fc.constant(undefined), fc.double({ min: 0, max: 1, noNaN: true })),
        (rows, horizonMs, rate) => {
          const s = summaryOf(rows);
          const fit: ClvFit = { ...cdnow, summary: s };
          const pAlive = clvInputValues(fit, s, spec('p_alive'));
          const purchases = clvInputValues(fit, s, spec('expected_purchases', horizonMs));
          const value = clvInputValues(fit, s, spec('value', horizonMs, rate));
          for (let i = 0; i < rows.length; i++) {
            expect(pAlive[i]).toBeGreaterThanOrEqual(0);
            expect(pAlive[i]).toBeLessThanOrEqual(1);
            expect(Number.isFinite(purchases[i]) && purchases[i] >= 0).toBe(true);
            expect(Number.isFinite(value[i]) && value[i] >= 0).toBe(true);
          }
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });

  it('x = 0, T = 0 (bought today for the first time) and a huge x', () => {
    const s = summaryOf([
      { x: 0, tx: 0, T: 0, mx: 0 },
      { x: 1_000_000, tx: 39, T: 39, mx: 12 }, // bought on the last day: alive
      { x: 1_000_000, tx: 1, T: 39, mx: 12 },
    ]);
    const fit: ClvFit = { ...cdnow, summary: s };
    const p = clvInputValues(fit, s, spec('p_alive'));
    const e = clvInputValues(fit, s, spec('expected_purchases', YEAR));
    const v = clvInputValues(fit, s, spec('value', YEAR, 0.1));
    // A million purchases then a silent week is overwhelming evidence of dropout.
    expect(Array.from(p)).toEqual([1, expect.closeTo(1, 5), 0]);
    expect([...e, ...v].every((n) => Number.isFinite(n) && n >= 0)).toBe(true);
    expect(e[1]).toBeGreaterThan(1000);
    expect(e[2]).toBe(0);
  });
});
