// Special functions the CLV models need: log-gamma, digamma, log-sum-exp and the Gauss hypergeometric 2F1
// on 0 <= z < 1. Written here (no numeric library in the dependency set) and tested against closed forms in
// test/clv/special.test.ts.

const LANCZOS_G = 7;
// Lanczos coefficients for g = 7, n = 9 (Godfrey's set, as in Numerical Recipes 3rd ed. §6.1 and many
// libraries); relative error of Γ below 2e-15 on the positive axis.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0 (and for negative non-integers, via reflection). */
export function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection keeps tiny arguments (r, a → 0 during a fit) accurate: Γ(x)Γ(1-x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const y = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i] / (y + i);
  const t = y + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ψ(x) = d/dx ln Γ(x), x > 0: recurrence up to x >= 10, then the asymptotic series (truncation error < 1e-16). */
export function digamma(x: number): number {
  let acc = 0;
  let y = x;
  while (y < 10) {
    acc -= 1 / y;
    y += 1;
  }
  const inv = 1 / y;
  const inv2 = inv * inv;
  const series =
    inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760))))));
  return acc + Math.log(y) - 0.5 * inv - series;
}

/** ln(e^u + e^v) without overflow. */
export function logAddExp(u: number, v: number): number {
  if (u === -Infinity) return v;
  if (v === -Infinity) return u;
  return u > v ? u + Math.log1p(Math.exp(v - u)) : v + Math.log1p(Math.exp(u - v));
}

/** 1 / (1 + e^u), the logistic of -u, without overflow. */
export function logisticOfNeg(u: number): number {
  if (u >= 0) {
    const e = Math.exp(-u);
    return e / (1 + e);
  }
  return 1 / (1 + Math.exp(u));
}

export interface SeriesResult {
  /** The sum, or NaN when the series did not converge within the term budget. */
  value: number;
  terms: number;
}

/** Largest number of terms any 2F1-type series here may take before it gives up (returns NaN). */
export const MAX_SERIES_TERMS = 2_000_000;

/**
 * An upper bound on the ratio of successive terms term_{m+1}/term_m = z·(A+m)(B+m)/((C+m)(m+1)) over all
 * m >= n, valid once A + n > 0 and B + n > 0: each factor (A+m)/(C+m) and (B+m)/(m+1) is monotone in m and
 * tends to 1, so its supremum is max(1, its value at n). With it the tail after term_n is at most
 * |term_n|·ρ/(1−ρ) (a geometric series).
 */
function tailRatioBound(A: number, B: number, C: number, z: number, n: number): number {
  return z * Math.max(1, (A + n) / (C + n)) * Math.max(1, (B + n) / (n + 1));
}

/**
 * Σ_{n>=1} term_n with term_1 = first and term_{n+1} = term_n · (A+n)(B+n) / ((C+n)(n+1)) · z, i.e. the
 * Gauss series of 2F1(A, B; C; z) minus its leading 1 (when first = A·B·z/C). 0 <= z < 1 and C > 0.
 *
 * Stops when the tail is provably below 1e-17 of the running sum (tailRatioBound). Signs may alternate while
 * n < -A or n < -B; the caller watches for cancellation through `maxAbsTerm`.
 */
export function gaussSeriesTail(
  first: number,
  A: number,
  B: number,
  C: number,
  z: number,
): SeriesResult & { maxAbsTerm: number } {
  let term = first;
  let sum = first;
  let maxAbsTerm = Math.abs(first);
  if (term === 0 || z === 0) return { value: sum, terms: 1, maxAbsTerm };
  const positiveFrom = Math.max(-A, -B, 0);
  for (let n = 1; n < MAX_SERIES_TERMS; n++) {
    const ratio = (((A + n) * (B + n)) / ((C + n) * (n + 1))) * z;
    term *= ratio;
    sum += term;
    const abs = Math.abs(term);
    if (abs > maxAbsTerm) maxAbsTerm = abs;
    if (term === 0) return { value: sum, terms: n + 1, maxAbsTerm };
    if (n + 1 > positiveFrom) {
      const rho = tailRatioBound(A, B, C, z, n + 1);
      if (rho < 1 && (abs * rho) / (1 - rho) <= 1e-17 * Math.abs(sum)) return { value: sum, terms: n + 1, maxAbsTerm };
    }
    if (!Number.isFinite(sum)) break;
  }
  return { value: Number.NaN, terms: MAX_SERIES_TERMS, maxAbsTerm };
}

/**
 * ln 2F1(A, B; C; z) for A, B, C > 0 and 0 <= z < 1, where every term of the Gauss series is positive (no
 * cancellation). The running sum is rescaled when it grows large, so results far beyond the double range
 * (large A, B with z near 1) come back as a finite logarithm.
 */
export function logHyp2f1Positive(A: number, B: number, C: number, z: number): number {
  let term = 1;
  let sum = 1;
  let logScale = 0;
  if (z === 0) return 0;
  for (let n = 0; n < MAX_SERIES_TERMS; n++) {
    const ratio = (((A + n) * (B + n)) / ((C + n) * (n + 1))) * z;
    term *= ratio;
    sum += term;
    if (sum > 1e250) {
      sum *= 1e-250;
      term *= 1e-250;
      logScale += 250 * Math.LN10;
    }
    const rho = tailRatioBound(A, B, C, z, n + 1);
    if (rho < 1 && (term * rho) / (1 - rho) <= 1e-17 * sum) return Math.log(sum) + logScale;
  }
  return Number.NaN;
}

/**
 * 2F1(A, B; C; z) for 0 <= z < 1 and C > 0 by the Gauss series (used by tests and for reference values;
 * the BG/NBD code uses the transformed series in bgnbd.ts, which stays well conditioned).
 */
export function hyp2f1(A: number, B: number, C: number, z: number): number {
  if (A > 0 && B > 0) return Math.exp(logHyp2f1Positive(A, B, C, z));
  const tail = gaussSeriesTail((A * B * z) / C, A, B, C, z);
  return 1 + tail.value;
}
