// Gamma-Gamma model of monetary value (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for
// Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value",
// brucehardie.com/notes/025): likelihood, fit, conditional expected spend, and the customer value that
// combines it with BG/NBD.
//
// Data are the customers with at least one repeat transaction: x = number of repeat transactions the mean
// is over, mx = their mean value (the first transaction is left out, as in the note). Customers with
// mx <= 0 (free orders, refunds) are outside the model's support and are left out of the fit.
import { bgnbdDiscountedExpectedPurchases, type BgNbdParams } from './bgnbd.js';
import { minimize, type MinimizeResult } from './optimize.js';
import { digamma, logGamma } from './special.js';

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface GammaGammaData {
  x: Float64Array;
  mx: Float64Array;
  w: Float64Array;
}

/** Rows with x > 0 and mx > 0, unweighted (weight 1 each). */
export function gammaGammaRows(x: ArrayLike<number>, mx: ArrayLike<number>, include?: ArrayLike<number>): GammaGammaData {
  const ox: number[] = [];
  const om: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (include !== undefined && !include[i]) continue;
    if (x[i] > 0 && mx[i] > 0 && Number.isFinite(mx[i])) {
      ox.push(x[i]);
      om.push(mx[i]);
    }
  }
  return { x: Float64Array.from(ox), mx: Float64Array.from(om), w: new Float64Array(ox.length).fill(1) };
}

/** ln f(mx | x; p, q, γ): the density of the observed mean spend (the note's eq. 5). */
export function gammaGammaCustomerLogLikelihood(g: GammaGammaParams, x: number, mx: number): number {
  const { p, q, gamma } = g;
  const px = p * x;
  return (
    logGamma(px + q) - logGamma(px) - logGamma(q) + q * Math.log(gamma) + (px - 1) * Math.log(mx) + px * Math.log(x) -
    (px + q) * Math.log(gamma + mx * x)
  );
}

interface Prepared {
  data: GammaGammaData;
  xs: Float64Array;
  xsWeight: Float64Array;
  /** Σ w·x·ln mx and Σ w·ln mx: the parameter-free parts of (px − 1)·ln mx. */
  sumWxLnM: number;
  sumWLnM: number;
  totalWeight: number;
  /**
   * When every weight is 1: the distinct (x, mx) pairs with their counts (and each row's pair). Many
   * customers share one, so each evaluation takes the logs and divisions, and adds, once per pair.
   */
  pairs?: { x: Float64Array; mx: Float64Array; count: Float64Array; terms: Float64Array };
}

function prepare(data: GammaGammaData): Prepared {
  const byX = new Map<number, number>();
  const xs: number[] = [];
  const xsWeight: number[] = [];
  let sumWxLnM = 0;
  let sumWLnM = 0;
  let totalWeight = 0;
  for (let i = 0; i < data.x.length; i++) {
    let k = byX.get(data.x[i]);
    if (k === undefined) {
      k = xs.length;
      byX.set(data.x[i], k);
      xs.push(data.x[i]);
      xsWeight.push(0);
    }
    xsWeight[k] += data.w[i];
    const lm = Math.log(data.mx[i]);
    sumWxLnM += data.w[i] * data.x[i] * lm;
    sumWLnM += data.w[i] * lm;
    totalWeight += data.w[i];
  }
  const prep: Prepared = { data, xs: Float64Array.from(xs), xsWeight: Float64Array.from(xsWeight), sumWxLnM, sumWLnM, totalWeight };
  if (data.w.every((w) => w === 1)) {
    const byPair = new Map<number, Map<number, number>>();
    const px: number[] = [];
    const pm: number[] = [];
    const pc: number[] = [];
    for (let i = 0; i < data.x.length; i++) {
      let byM = byPair.get(data.x[i]);
      if (byM === undefined) byPair.set(data.x[i], (byM = new Map()));
      let k = byM.get(data.mx[i]);
      if (k === undefined) {
        k = px.length;
        byM.set(data.mx[i], k);
        px.push(data.x[i]);
        pm.push(data.mx[i]);
        pc.push(0);
      }
      pc[k]++;
    }
    prep.pairs = { x: Float64Array.from(px), mx: Float64Array.from(pm), count: Float64Array.from(pc), terms: new Float64Array(4 * px.length) };
  }
  return prep;
}

/**
 * Per distinct pair k, what a row with unit weight subtracts, at terms[4k..4k+3] (one cache line per row):
 * w·(px + q)·lnDen, w·x·lnDen, w·lnDen and w·(px + q)/den with w = 1, which are exactly these. Without
 * the gradient only the first.
 */
function pairTerms(prep: Prepared, g: GammaGammaParams, withGradient: boolean): Float64Array {
  const { p, q, gamma } = g;
  const { x, mx, terms } = prep.pairs!;
  if (!withGradient) {
    for (let k = 0; k < x.length; k++) {
      const xv = x[k];
      terms[k << 2] = (p * xv + q) * Math.log(gamma + mx[k] * xv);
    }
    return terms;
  }
  for (let k = 0; k < x.length; k++) {
    const xv = x[k];
    const den = gamma + mx[k] * xv;
    const lnDen = Math.log(den);
    const px = p * xv;
    const b = k << 2;
    terms[b] = (px + q) * lnDen;
    terms[b + 1] = xv * lnDen;
    terms[b + 2] = lnDen;
    terms[b + 3] = (px + q) / den;
  }
  return terms;
}

/** Σ w·LL and, when grad is given, its gradient with respect to (ln p, ln q, ln γ). */
function logLikelihoodAndGradient(prep: Prepared, g: GammaGammaParams, grad: Float64Array | null): number {
  const { p, q, gamma } = g;
  const lnGamma = Math.log(gamma);
  const lgQ = logGamma(q);
  const psiQ = grad ? digamma(q) : 0;
  let ll = p * prep.sumWxLnM - prep.sumWLnM;
  let gp = prep.sumWxLnM;
  let gq = 0;
  let gg = 0;
  for (let k = 0; k < prep.xs.length; k++) {
    const xv = prep.xs[k];
    const W = prep.xsWeight[k];
    const px = p * xv;
    const lnX = Math.log(xv);
    ll += W * (logGamma(px + q) - logGamma(px) - lgQ + q * lnGamma + px * lnX);
    if (grad) {
      const psiPxQ = digamma(px + q);
      gp += W * xv * (psiPxQ - digamma(px) + lnX);
      gq += W * (psiPxQ - psiQ + lnGamma);
      gg += (W * q) / gamma;
    }
  }
  if (prep.pairs) {
    // Per pair, times its count; ll compensated (Neumaier): its terms are ~35 times larger than the
    // total, and a plain sum's rounding would hide the decreases the line search looks for.
    const t = pairTerms(prep, g, grad !== null);
    const count = prep.pairs.count;
    const pairs = count.length;
    let comp = 0;
    for (let k = 0; k < pairs; k++) {
      const v = -count[k] * t[k << 2];
      const s = ll + v;
      comp += Math.abs(ll) >= Math.abs(v) ? ll - s + v : v - s + ll;
      ll = s;
    }
    ll += comp;
    if (grad) {
      for (let k = 0; k < pairs; k++) {
        const b = k << 2;
        const c = count[k];
        gp -= c * t[b + 1];
        gq -= c * t[b + 2];
        gg -= c * t[b + 3];
      }
      grad[0] = gp * p;
      grad[1] = gq * q;
      grad[2] = gg * gamma;
    }
    return ll;
  }
  const { x, mx, w } = prep.data;
  for (let i = 0; i < x.length; i++) {
    const xv = x[i];
    const den = gamma + mx[i] * xv;
    const lnDen = Math.log(den);
    const px = p * xv;
    ll -= w[i] * (px + q) * lnDen;
    if (grad) {
      gp -= w[i] * xv * lnDen;
      gq -= w[i] * lnDen;
      gg -= (w[i] * (px + q)) / den;
    }
  }
  if (grad) {
    grad[0] = gp * p;
    grad[1] = gq * q;
    grad[2] = gg * gamma;
  }
  return ll;
}

export function gammaGammaLogLikelihood(g: GammaGammaParams, data: GammaGammaData): number {
  return logLikelihoodAndGradient(prepare(data), g, null);
}

/** Gradient of Σ w·LL with respect to (ln p, ln q, ln γ); for tests. */
export function gammaGammaLogLikelihoodGradient(g: GammaGammaParams, data: GammaGammaData): Float64Array {
  const out = new Float64Array(3);
  logLikelihoodAndGradient(prepare(data), g, out);
  return out;
}

export interface GammaGammaFitOutcome {
  params: GammaGammaParams;
  logLikelihood: number;
  optimizer: MinimizeResult;
}

const fromLog = (v: Float64Array): GammaGammaParams => ({ p: Math.exp(v[0]), q: Math.exp(v[1]), gamma: Math.exp(v[2]) });

/** Maximum-likelihood fit; γ starts at the mean spend (the data's money scale), so the currency does not matter. */
export function fitGammaGamma(data: GammaGammaData): GammaGammaFitOutcome {
  const prep = prepare(data);
  let mean = 0;
  for (let i = 0; i < data.x.length; i++) mean += data.w[i] * data.mx[i];
  mean = Math.max(mean / Math.max(prep.totalWeight, 1), 1e-9);
  const scale = 1 / Math.max(prep.totalWeight, 1);
  const objective = (v: Float64Array, grad: Float64Array | null): number => {
    for (let k = 0; k < 3; k++) if (!(Math.abs(v[k]) < 50)) return Number.NaN;
    const ll = logLikelihoodAndGradient(prep, fromLog(v), grad);
    if (grad) for (let k = 0; k < 3; k++) grad[k] *= -scale;
    return -ll * scale;
  };
  const lm = Math.log(mean);
  const starts = [
    [0, Math.log(2), lm],
    [Math.log(5), Math.log(4), lm + Math.log(3 / 5)],
    [Math.log(0.5), Math.log(10), lm + Math.log(18)],
  ];
  const result = minimize(objective, starts, { gradTol: 1e-10 });
  return { params: fromLog(result.x), logLikelihood: -result.f / scale, optimizer: result };
}

/**
 * E[M | x, mx]: expected value of a future transaction (the note's eq. 6), a weighted mean of the population
 * mean pγ/(q−1) and the customer's own mean. NaN when px + q <= 1 (the mean does not exist). A customer with
 * x = 0 gets the population mean; a non-positive mx counts as 0.
 */
export function gammaGammaExpectedSpend(g: GammaGammaParams, x: number, mx: number): number {
  const den = g.p * x + g.q - 1;
  if (!(den > 0)) return Number.NaN;
  return (g.p * (g.gamma + x * Math.max(0, mx))) / den;
}

export interface ValueHorizon {
  /** Horizon in model units. */
  t: number;
  /** Continuous discount rate per unit, ln(1 + annual rate) · unitMs / year; 0 = no discounting. */
  delta: number;
  /** Longest discounting step in units (one month). */
  maxStep: number;
}

/**
 * Expected spend over the horizon: (discounted) expected purchases from BG/NBD times the expected value per
 * transaction from Gamma-Gamma (the two are independent by the Gamma-Gamma model's assumption).
 */
export function customerValue(
  bg: BgNbdParams,
  gg: GammaGammaParams,
  h: ValueHorizon,
  x: number,
  tx: number,
  T: number,
  mxCount: number,
  mx: number,
): number {
  const spend = gammaGammaExpectedSpend(gg, mxCount, mx);
  if (Number.isNaN(spend)) return Number.NaN;
  return bgnbdDiscountedExpectedPurchases(bg, h.t, x, tx, T, h.delta, h.maxStep) * spend;
}
