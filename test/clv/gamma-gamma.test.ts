import { describe, expect, it } from 'vitest';
import { bgnbdAliveExpectation, bgnbdConditionalExpectedPurchases, bgnbdDiscountedExpectedPurchases, bgnbdPAlive } from '../../src/analytics/clv/bgnbd.js';
import {
  customerValue,
  fitGammaGamma,
  gammaGammaCustomerLogLikelihood,
  gammaGammaExpectedSpend,
  gammaGammaLogLikelihood,
  gammaGammaLogLikelihoodGradient,
  gammaGammaRows,
  type GammaGammaParams,
} from '../../src/analytics/clv/gamma-gamma.js';
import { customerIndex, loadCdnowSample, sig } from './support/cdnow.js';

/** Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", on the 946 CDNOW repeat buyers. */
const PUBLISHED: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };

describe('Gamma-Gamma on the CDNOW sample', () => {
  const { data, summary } = loadCdnowSample();
  const rows = gammaGammaRows(summary.mxCount, summary.mx, summary.inCohort);
  const fit = fitGammaGamma(rows);

  it('uses the 946 repeat buyers (mean spend of the repeat transactions)', () => {
    expect(rows.x.length).toBe(946);
  });

  it('matches the published parameters to 3 significant figures', () => {
    expect(fit.optimizer.converged).toBe(true);
    expect(sig(fit.params.p)).toBe(PUBLISHED.p);
    expect(sig(fit.params.q)).toBe(PUBLISHED.q);
    expect(sig(fit.params.gamma, 4)).toBe(PUBLISHED.gamma);
  });

  it('has the log-likelihood CLVTools reports for this split (−4055.9177)', () => {
    expect(fit.logLikelihood).toBeCloseTo(-4055.9177, 3);
    expect(gammaGammaLogLikelihood(PUBLISHED, rows)).toBeLessThan(fit.logLikelihood);
  });

  it('sums the per-customer density', () => {
    let direct = 0;
    for (let i = 0; i < rows.x.length; i++) direct += gammaGammaCustomerLogLikelihood(fit.params, rows.x[i], rows.mx[i]);
    expect(gammaGammaLogLikelihood(fit.params, rows)).toBeCloseTo(direct, 8);
  });

  it('has an analytic gradient that matches finite differences', () => {
    const p: GammaGammaParams = { p: 2, q: 5, gamma: 40 };
    const g = gammaGammaLogLikelihoodGradient(p, rows);
    (['p', 'q', 'gamma'] as const).forEach((k, j) => {
      const h = 1e-6;
      const numeric =
        (gammaGammaLogLikelihood({ ...p, [k]: p[k] * Math.exp(h) }, rows) - gammaGammaLogLikelihood({ ...p, [k]: p[k] * Math.exp(-h) }, rows)) / (2 * h);
      expect(Math.abs(g[j] - numeric)).toBeLessThan(1e-5 * Math.max(1, Math.abs(numeric)));
    });
  });

  it("gives Hardie's spreadsheet expected spend for the first ten customers (lifetimes' test, ±0.1)", () => {
    const sheet = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
    sheet.forEach((v, k) => {
      const i = customerIndex(data, String(k + 1).padStart(4, '0'));
      expect(Math.abs(gammaGammaExpectedSpend(PUBLISHED, summary.mxCount[i], summary.mx[i]) - v)).toBeLessThan(0.1);
    });
  });
});

describe('expected spend', () => {
  it('is the population mean pγ/(q−1) without repeat purchases, and tends to the own mean with many', () => {
    expect(gammaGammaExpectedSpend(PUBLISHED, 0, 0)).toBeCloseTo((6.25 * 15.44) / 2.74, 12);
    expect(Math.abs(gammaGammaExpectedSpend(PUBLISHED, 1e6, 80) / 80 - 1)).toBeLessThan(1e-5);
  });
  it('is NaN when the mean does not exist (px + q <= 1)', () => {
    expect(gammaGammaExpectedSpend({ p: 1, q: 0.8, gamma: 10 }, 0, 0)).toBeNaN();
    expect(Number.isFinite(gammaGammaExpectedSpend({ p: 1, q: 0.8, gamma: 10 }, 1, 20))).toBe(true);
  });
});

describe('customer value', () => {
  const bg = { r: 0.2425945, alpha: 4.413602, a: 0.7929218, b: 2.425906 };
  const gg = PUBLISHED;
  const weekStep = 52.17857 / 12; // one month in weeks

  it('is expected purchases times expected spend without discounting', () => {
    const v = customerValue(bg, gg, { t: 52, delta: 0, maxStep: weekStep }, 3, 30, 38, 3, 40);
    expect(v).toBeCloseTo(bgnbdConditionalExpectedPurchases(bg, 52, 3, 30, 38) * gammaGammaExpectedSpend(gg, 3, 40), 10);
  });

  it('discounts (Simpson on monthly steps) to within 1e-7 of a 20,000-step integral', () => {
    const delta = (Math.log(1.15) * 7) / 365.25; // 15% a year, per week
    for (const [x, tx, T] of [[0, 0, 30], [3, 30, 38], [12, 37, 38]]) {
      const monthly = bgnbdDiscountedExpectedPurchases(bg, 156, x, tx, T, delta, weekStep);
      // Reference: 20,000 steps.
      let ref = 0;
      let prev = 0;
      for (let k = 1; k <= 20000; k++) {
        const t = (156 * k) / 20000;
        const e = bgnbdAliveExpectation(bg, t, x, T);
        ref += (e - prev) * Math.exp(-delta * (t - 156 / 40000));
        prev = e;
      }
      ref *= bgnbdPAlive(bg, x, tx, T);
      expect(Math.abs(monthly / ref - 1)).toBeLessThan(1e-7);
      expect(monthly).toBeLessThan(bgnbdConditionalExpectedPurchases(bg, 156, x, tx, T));
    }
  });
});
