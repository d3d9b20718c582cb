// `npm run bench -- clv`: fit BG/NBD + Gamma-Gamma on 100,000 synthetic customers drawn from the models
// themselves (seeded), goal ≤ 2 s for the fit. Also prints the summary step (transactions → x, t_x, T, mx)
// and how well the known parameters are recovered.
import { performance } from 'node:perf_hooks';
import { clvInputValues, fitClvSummary } from '../src/analytics/clv/fit.js';
import { MS_PER_DAY, summarizeTransactions, type ClvTransactions } from '../src/analytics/clv/summary.js';
import { prng } from '../test/support/prng.js';

const CUSTOMERS = 100_000;
const GOAL_SECONDS = 2;
const TRUE_BG = { r: 0.25, alpha: 4, a: 0.8, b: 2.5 };
const TRUE_GG = { p: 6, q: 4, gamma: 15 };
const WEEK = 7 * MS_PER_DAY;

function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000), with the u^(1/shape) boost for shape < 1. */
function gamma(u: () => number, shape: number): number {
  if (shape < 1) return gamma(u, shape + 1) * Math.pow(1 - u(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(u);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const w = 1 - u();
    if (Math.log(w) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/**
 * A cohort acquired over 12 weeks, observed for 52 weeks from the start (calibration) plus 26 (holdout):
 * λ ~ Gamma(r, α) per week, dropout p ~ Beta(a, b) after each purchase, spend per transaction
 * ~ Gamma(p, ν) with ν ~ Gamma(q, γ). Times are whole days, as real data are.
 */
function simulate(seed: number): { tx: ClvTransactions; calibrationEnd: number; holdoutEnd: number } {
  const u = prng(seed);
  const start = Date.UTC(2024, 0, 1);
  const calibrationEnd = start + 52 * WEEK;
  const holdoutEnd = calibrationEnd + 26 * WEEK;
  const offsets = new Int32Array(CUSTOMERS + 1);
  const ts: number[] = [];
  const amount: number[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const lambda = gamma(u, TRUE_BG.r) / TRUE_BG.alpha;
    const ga = gamma(u, TRUE_BG.a);
    const p = ga / (ga + gamma(u, TRUE_BG.b));
    const nu = gamma(u, TRUE_GG.q) / TRUE_GG.gamma;
    let t = start + Math.floor(u() * 84) * MS_PER_DAY;
    for (;;) {
      ts.push(t);
      amount.push(Math.round((gamma(u, TRUE_GG.p) / nu) * 100) / 100);
      if (ts.length - offsets[i] > 1 && u() < p) break; // dropout after a repeat purchase
      const gapWeeks = -Math.log(1 - u()) / lambda;
      const next = t + Math.ceil((gapWeeks * WEEK) / MS_PER_DAY) * MS_PER_DAY;
      if (!(next < holdoutEnd)) break;
      t = next;
    }
    offsets[i + 1] = ts.length;
  }
  return { tx: { offsets, ts: Float64Array.from(ts), amount: Float64Array.from(amount) }, calibrationEnd, holdoutEnd };
}

export async function run(): Promise<void> {
  const t0 = performance.now();
  const sim = simulate(20240101);
  const t1 = performance.now();
  const summary = summarizeTransactions(sim.tx, { unitMs: WEEK, calibrationEnd: sim.calibrationEnd, holdoutEnd: sim.holdoutEnd });
  const t2 = performance.now();
  const fit = fitClvSummary(summary);
  const t3 = performance.now();
  if (!fit.ok) throw new Error(`fit failed: ${fit.diagnostic.message}`);
  const fitSeconds = (t3 - t2) / 1000;
  const bg = fit.bgnbd;
  const gg = fit.gammaGamma;
  console.log(`customers ${CUSTOMERS}, transactions ${sim.tx.ts.length} (simulated in ${((t1 - t0) / 1000).toFixed(2)} s)`);
  console.log(`summary (x, t_x, T, mx):  ${((t2 - t1) / 1000).toFixed(3)} s`);
  console.log(
    `fit BG/NBD + Gamma-Gamma: ${fitSeconds.toFixed(3)} s  (goal ≤ ${GOAL_SECONDS} s, ${(fitSeconds / GOAL_SECONDS).toFixed(2)} of goal)` +
      `  ${fitSeconds <= GOAL_SECONDS ? 'ok' : 'OVER GOAL'}`,
  );
  console.log(
    `  BG/NBD       r=${bg.r.toFixed(3)} alpha=${bg.alpha.toFixed(3)} a=${bg.a.toFixed(3)} b=${bg.b.toFixed(3)}  ` +
      `(true ${TRUE_BG.r}, ${TRUE_BG.alpha}, ${TRUE_BG.a}, ${TRUE_BG.b}; ${bg.repeatBuyers} repeat buyers, ${bg.evaluations} evaluations)`,
  );
  if (gg) {
    console.log(
      `  Gamma-Gamma  p=${gg.p.toFixed(3)} q=${gg.q.toFixed(3)} gamma=${gg.gamma.toFixed(3)}  (true ${TRUE_GG.p}, ${TRUE_GG.q}, ${TRUE_GG.gamma}; ${gg.n} buyers)`,
    );
  }
  const t4 = performance.now();
  const year = 365.25 * MS_PER_DAY;
  const values = clvInputValues(fit, summary, { kind: 'clv', key: 'value', fn: 'value', horizonMs: year, discountRate: 0.1 });
  const t5 = performance.now();
  const nulls = values.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0);
  console.log(`clv.value(365d, 10%) for every customer: ${((t5 - t4) / 1000).toFixed(3)} s (${nulls} null)`);
}
