import { describe, expect, it } from 'vitest';
import {
  bgnbdAliveExpectation,
  bgnbdConditionalExpectedPurchases,
  bgnbdCustomerLogLikelihood,
  bgnbdExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdLogLikelihoodGradient,
  bgnbdPAlive,
  compressBgNbdRows,
  fitBgNbd,
  type BgNbdParams,
} from '../../src/analytics/clv/bgnbd.js';
import { logGamma } from '../../src/analytics/clv/special.js';
import { loadCdnowSample, sig } from './support/cdnow.js';

/** Published in Fader, Hardie & Lee (2005), Marketing Science 24(2), for the CDNOW sample, 39-week calibration. */
const PUBLISHED = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, logLikelihood: -9582.4 };
/** The estimates printed in the BTYD package's walkthrough vignette (same data), used with its worked examples. */
const BTYD_PARAMS: BgNbdParams = { r: 0.2425982, alpha: 4.4136842, a: 0.7929899, b: 2.4261667 };

/**
 * E[purchases in (T, T+t] | alive, x, T] by quadrature of its definition: λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x)
 * a posteriori, E = E_p[(1 − ((α+T)/(α+T+pt))^{r+x}) / p]. Substituting p = u^{1/a} removes the p^{a−1}
 * singularity; midpoint rule on 200,000 nodes. Independent of the hypergeometric code it checks.
 */
function aliveExpectationByQuadrature(p: BgNbdParams, t: number, x: number, T: number): number {
  const { r, alpha, a, b } = p;
  const bb = b + x;
  const rr = r + x;
  const aT = alpha + T;
  const logBeta = logGamma(a) + logGamma(bb) - logGamma(a + bb);
  const N = 200_000;
  let s = 0;
  for (let k = 0; k < N; k++) {
    const pp = Math.pow((k + 0.5) / N, 1 / a);
    s += ((1 - Math.pow(aT / (aT + pp * t), rr)) / pp) * Math.pow(1 - pp, bb - 1);
  }
  return s / N / a / Math.exp(logBeta);
}

describe('BG/NBD on the CDNOW sample', () => {
  const { summary } = loadCdnowSample();
  const data = compressBgNbdRows(summary.x, summary.tx, summary.T, summary.inCohort);
  const fit = fitBgNbd(data);

  it('matches the published parameters and log-likelihood to 3 significant figures', () => {
    expect(fit.optimizer.converged).toBe(true);
    expect(sig(fit.params.r)).toBe(PUBLISHED.r);
    expect(sig(fit.params.alpha, 4)).toBe(PUBLISHED.alpha);
    expect(sig(fit.params.a)).toBe(PUBLISHED.a);
    expect(sig(fit.params.b, 4)).toBe(PUBLISHED.b);
    // Published to one decimal; ours is −9582.4292 (BTYD and CLVTools print −9582.429).
    expect(Math.abs(fit.logLikelihood - PUBLISHED.logLikelihood)).toBeLessThan(0.05);
  });

  it('reaches the optimum other implementations report (CLVTools to 2e-5, BTYD to 2e-4 relative), at least as high', () => {
    // CLVTools' correctness test (tests/testthat/test_correctness_bgnbd.R) on the same split.
    const clvtools = { r: 0.2425945, alpha: 4.4136019, a: 0.7929199, b: 2.4258881 };
    for (const k of ['r', 'alpha', 'a', 'b'] as const) {
      expect(Math.abs(fit.params[k] / clvtools[k] - 1)).toBeLessThan(2e-5);
      // BTYD stops earlier (its restarts print b = 2.426167, 2.426166, 2.426164).
      expect(Math.abs(fit.params[k] / BTYD_PARAMS[k] - 1)).toBeLessThan(2e-4);
    }
    expect(fit.logLikelihood).toBeCloseTo(-9582.429, 3);
    expect(bgnbdLogLikelihood(BTYD_PARAMS, data)).toBeLessThanOrEqual(fit.logLikelihood);
    expect(bgnbdLogLikelihood(clvtools, data)).toBeLessThanOrEqual(fit.logLikelihood);
  });

  it('merging identical rows does not change the likelihood', () => {
    let direct = 0;
    for (let i = 0; i < summary.n; i++) direct += bgnbdCustomerLogLikelihood(fit.params, summary.x[i], summary.tx[i], summary.T[i]);
    expect(data.x.length).toBeLessThan(summary.n);
    expect(bgnbdLogLikelihood(fit.params, data)).toBeCloseTo(direct, 8);
  });

  it('has an analytic gradient that matches finite differences', () => {
    const p: BgNbdParams = { r: 0.5, alpha: 3, a: 1.4, b: 0.9 };
    const g = bgnbdLogLikelihoodGradient(p, data);
    const keys = ['r', 'alpha', 'a', 'b'] as const;
    keys.forEach((k, j) => {
      const h = 1e-6;
      const up = { ...p, [k]: p[k] * Math.exp(h) };
      const down = { ...p, [k]: p[k] * Math.exp(-h) };
      const numeric = (bgnbdLogLikelihood(up, data) - bgnbdLogLikelihood(down, data)) / (2 * h);
      expect(Math.abs(g[j] - numeric)).toBeLessThan(1e-5 * Math.max(1, Math.abs(numeric)));
    });
  });

  it("gives Hardie's spreadsheet value for a conditional expectation (x=2, t_x=30.43, T=38.86, t=39)", () => {
    // 1.226 in Hardie's BG/NBD spreadsheet, as asserted by the lifetimes test suite.
    expect(Math.abs(bgnbdConditionalExpectedPurchases(fit.params, 39, 2, 30.43, 38.86) - 1.226)).toBeLessThan(0.001);
  });

  it("gives Hardie's spreadsheet values for E[X(t)] (lifetimes' test, 3 decimals)", () => {
    const times = [0.1429, 1, 3, 31.8571, 32, 78];
    const sheet = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
    times.forEach((t, k) => expect(Math.abs(bgnbdExpectedPurchases(fit.params, t) - sheet[k])).toBeLessThan(5e-4));
  });
});

describe('BG/NBD worked examples of the BTYD walkthrough (same parameters)', () => {
  it('customer 1516: x = 26, t_x = 30.857, T = 31', () => {
    // BTYD prints 25.75659; its truncated 2F1 series and ours differ in the 6th figure.
    expect(Math.abs(bgnbdConditionalExpectedPurchases(BTYD_PARAMS, 52, 26, 30.85714, 31) / 25.75659 - 1)).toBeLessThan(1e-5);
    expect(bgnbdPAlive(BTYD_PARAMS, 26, 30.85714, 31)).toBeCloseTo(0.9688523, 6);
  });

  it('the "increasing frequency paradox": t_x = 20, T = 39, 52 weeks ahead', () => {
    const printed: [number, number][] = [
      [10, 0.3474606],
      [15, 0.04283391],
      [20, 0.004158973],
      [25, 0.0003583685],
    ];
    for (const [x, e] of printed) {
      expect(Math.abs(bgnbdConditionalExpectedPurchases(BTYD_PARAMS, 52, x, 20, 39) / e - 1)).toBeLessThan(1e-5);
    }
  });
});

describe('BG/NBD expectation: numerics', () => {
  const cdnow: BgNbdParams = { r: 0.2425945, alpha: 4.413602, a: 0.7929218, b: 2.425906 };

  it.each([
    [39, 0, 0],
    [78, 0, 0],
    [39, 2, 38.86],
    [39, 50, 38.86],
    [500, 200, 10],
    [1000, 0, 0.1],
  ])('agrees with quadrature for t=%d, x=%d, T=%d', (t, x, T) => {
    const series = bgnbdAliveExpectation(cdnow, t, x, T);
    // The quadrature (200k nodes) is good to ~1e-8 for peaked posteriors (large x); the series to ~1e-14.
    expect(Math.abs(series / aliveExpectationByQuadrature(cdnow, t, x, T) - 1)).toBeLessThan(1e-7);
  });

  it('is continuous through a = 1, where the closed form is 0/0', () => {
    const at = (a: number): number => bgnbdAliveExpectation({ ...cdnow, a }, 52, 3, 30);
    const exact = at(1);
    expect(Number.isFinite(exact)).toBe(true);
    expect(Math.abs(at(1 - 1e-7) - exact)).toBeLessThan(1e-6);
    expect(Math.abs(at(1 + 1e-7) - exact)).toBeLessThan(1e-6);
    expect(Math.abs(exact / aliveExpectationByQuadrature({ ...cdnow, a: 1 }, 52, 3, 30) - 1)).toBeLessThan(1e-8);
  });

  it('stays accurate when r ≫ a + b (the transformed series would cancel; the direct one is used)', () => {
    const p: BgNbdParams = { r: 40, alpha: 60, a: 0.6, b: 1.2 };
    for (const [t, x, T] of [[26, 0, 10], [52, 12, 40]]) {
      expect(Math.abs(bgnbdAliveExpectation(p, t, x, T) / aliveExpectationByQuadrature(p, t, x, T) - 1)).toBeLessThan(1e-8);
    }
  });

  it('has an answer at the fixed-dropout boundary a, b → ∞, where the series fail, continuous with them', () => {
    const q = 0.1745;
    const at = (k: number, x: number, T: number) => bgnbdAliveExpectation({ r: 0.372, alpha: 5.055, a: q * k, b: (1 - q) * k }, 52, x, T);
    for (const [x, T] of [[0, 5], [3, 60], [20, 100]]) {
      // The values a fit to data without dropouts produced (a ≈ 1.3e7, b ≈ 6.3e7) and beyond.
      for (const k of [7.6e7, 1e9]) {
        const v = at(k, x, T);
        expect(Number.isFinite(v)).toBe(true);
        // Where the series still work (a + b = 1e5), the boundary value is within 2e-4 of theirs.
        expect(Math.abs(v / at(1e5, x, T) - 1)).toBeLessThan(2e-4);
      }
    }
  });

  it('does not overflow for very frequent buyers or long horizons', () => {
    for (const [t, x, T] of [[52, 5000, 38], [52, 100000, 52], [5200, 0, 0], [5200, 3, 0.5]]) {
      const v = bgnbdConditionalExpectedPurchases(cdnow, t, x, 30, Math.max(T, 30));
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('P(alive)', () => {
  const p: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  it('is 1 without repeat purchases', () => {
    expect(bgnbdPAlive(p, 0, 0, 38)).toBe(1);
  });
  it('is 0 for a very frequent buyer long gone (lifetimes: x=1000, t_x=10, T=100)', () => {
    expect(bgnbdPAlive(p, 1000, 10, 100)).toBe(0);
  });
  it('is in [0, 1] and falls as the last purchase recedes', () => {
    for (let x = 1; x < 100; x += 7) {
      let prev = 1;
      for (let T = 10; T <= 100; T += 10) {
        const v = bgnbdPAlive(p, x, 10, T);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(prev);
        prev = v;
      }
    }
  });
});
