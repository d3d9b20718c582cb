import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minimize, minimizeBfgs, type Objective } from '../../src/analytics/clv/optimize.js';

/** Extended Rosenbrock: Σ 100(x_{2i} − x_{2i−1}²)² + (1 − x_{2i−1})², minimum 0 at (1, …, 1). */
const rosenbrock: Objective = (x, g) => {
  let f = 0;
  if (g) g.fill(0);
  for (let i = 0; i < x.length; i += 2) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    f += 100 * a * a + b * b;
    if (g) {
      g[i] += -400 * x[i] * a - 2 * b;
      g[i + 1] += 200 * a;
    }
  }
  return f;
};

/** Beale: minimum 0 at (3, 0.5); narrow curved valleys and plateaus. */
const beale: Objective = ([x, y], g) => {
  const t1 = 1.5 - x + x * y;
  const t2 = 2.25 - x + x * y * y;
  const t3 = 2.625 - x + x * y * y * y;
  if (g) {
    g[0] = 2 * t1 * (y - 1) + 2 * t2 * (y * y - 1) + 2 * t3 * (y * y * y - 1);
    g[1] = 2 * t1 * x + 4 * t2 * x * y + 6 * t3 * x * y * y;
  }
  return t1 * t1 + t2 * t2 + t3 * t3;
};

describe('minimizeBfgs', () => {
  it('finds the Rosenbrock minimum from the classic start (-1.2, 1)', () => {
    const r = minimizeBfgs(rosenbrock, [-1.2, 1]);
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 6);
    expect(r.x[1]).toBeCloseTo(1, 6);
    expect(r.f).toBeLessThan(1e-12);
  });

  it('finds the 4-D Rosenbrock minimum with central-difference gradients', () => {
    const r = minimizeBfgs(rosenbrock, [-1.2, 1, -1.2, 1], { analyticGradient: false, gradTol: 1e-7 });
    expect(r.converged).toBe(true);
    for (const v of r.x) expect(v).toBeCloseTo(1, 4);
  });

  it('finds the Beale minimum', () => {
    const r = minimizeBfgs(beale, [1, 1]);
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(3, 6);
    expect(r.x[1]).toBeCloseTo(0.5, 6);
  });

  it('handles an ill-conditioned quadratic (condition number 1e6)', () => {
    const q: Objective = ([x, y], g) => {
      if (g) {
        g[0] = 2 * (x - 3);
        g[1] = 2e6 * (y + 2);
      }
      return (x - 3) ** 2 + 1e6 * (y + 2) ** 2;
    };
    const r = minimizeBfgs(q, [0, 0]);
    expect(r.x[0]).toBeCloseTo(3, 6);
    expect(r.x[1]).toBeCloseTo(-2, 6);
  });

  it('backs off from a region where the objective is not finite', () => {
    // x − ln x is defined for x > 0 only; the first full steps from x = 10 land below 0.
    const f: Objective = ([x], g) => {
      if (!(x > 0)) return Number.NaN;
      if (g) g[0] = 1 - 1 / x;
      return x - Math.log(x);
    };
    const r = minimizeBfgs(f, [10]);
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 6);
  });

  it('reports a non-finite start instead of inventing a result', () => {
    const r = minimizeBfgs(() => Number.NaN, [0, 0]);
    expect(r.converged).toBe(false);
    expect(r.status).toBe('non-finite');
  });

  it('reports max-iterations when stopped early', () => {
    const r = minimizeBfgs(rosenbrock, [-1.2, 1], { maxIterations: 3 });
    expect(r.status).toBe('max-iterations');
    expect(r.converged).toBe(false);
  });

  it('minimises random convex quadratics to their exact minimiser (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((n) =>
          fc.tuple(
            fc.array(fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
            fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: n, maxLength: n }),
          ),
        ),
        ([m, c]) => {
          const n = c.length;
          // A = MᵀM + I is symmetric positive definite; f = ½ (x−c)ᵀA(x−c).
          const A = Array.from({ length: n }, (_, i) =>
            Array.from({ length: n }, (_, j) => m.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 1 : 0)),
          );
          const f: Objective = (x, g) => {
            let v = 0;
            for (let i = 0; i < n; i++) {
              let gi = 0;
              for (let j = 0; j < n; j++) gi += A[i][j] * (x[j] - c[j]);
              if (g) g[i] = gi;
              v += 0.5 * (x[i] - c[i]) * gi;
            }
            return v;
          };
          const r = minimizeBfgs(f, new Array(n).fill(0));
          for (let i = 0; i < n; i++) expect(Math.abs(r.x[i] - c[i])).toBeLessThan(1e-6);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('minimize (restarts)', () => {
  it('keeps the best of several starts: the global minimum of a tilted double well', () => {
    // (x² − 1)² + 0.3x has a local minimum near x = 0.96 and the global one near x = −1.04.
    const f: Objective = ([x], g) => {
      if (g) g[0] = 4 * x * (x * x - 1) + 0.3;
      return (x * x - 1) ** 2 + 0.3 * x;
    };
    const local = minimizeBfgs(f, [2]);
    expect(local.x[0]).toBeGreaterThan(0);
    const best = minimize(f, [[2], [-2]]);
    expect(best.x[0]).toBeLessThan(-1);
    expect(best.f).toBeLessThan(local.f);
    expect(best.evaluations).toBeGreaterThan(local.evaluations);
  });
});
