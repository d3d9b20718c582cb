// The one optimiser the CLV fits use: BFGS with a strong-Wolfe line search (Nocedal & Wright, Numerical
// Optimization, 2nd ed., algorithms 3.5/3.6 and 6.1), analytic gradients when the objective provides them and
// central differences otherwise, and restarts from several starting points. Models minimise in
// log-parameter space, so positivity needs no constraints. Pure and deterministic.

/**
 * The objective: returns f(x) and, when `grad` is given, writes ∇f(x) into it. A non-finite value means
 * "outside the domain"; the line search backs off from it.
 */
export type Objective = (x: Float64Array, grad: Float64Array | null) => number;

export interface MinimizeOptions {
  /** Stop when max |∂f/∂x_i| <= gradTol (default 1e-9). */
  gradTol?: number;
  /** Stop when a step changes f by less than fTol·(|f|+fTol) twice in a row (default 1e-15). */
  fTol?: number;
  /**
   * Stop when the decrease predicted by a full quasi-Newton step is below decreaseTol·(|f|+1) (default
   * 1e-13): f is then minimal to rounding, and for these likelihoods the parameters to ~1e-6 relative.
   */
  decreaseTol?: number;
  /** BFGS iterations per start (default 500). */
  maxIterations?: number;
  /** The objective computes its own gradient (default true); false uses central differences. */
  analyticGradient?: boolean;
}

export type MinimizeStatus = 'converged' | 'max-iterations' | 'line-search-failed' | 'non-finite';

export interface MinimizeResult {
  x: Float64Array;
  f: number;
  /** max |∂f/∂x_i| at x. */
  gradNorm: number;
  iterations: number;
  evaluations: number;
  status: MinimizeStatus;
  converged: boolean;
}

const DEFAULTS = { gradTol: 1e-9, fTol: 1e-15, decreaseTol: 1e-13, maxIterations: 500, analyticGradient: true };

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function dot(u: Float64Array, v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
}

class Evaluator {
  evaluations = 0;
  constructor(
    private readonly fn: Objective,
    private readonly analytic: boolean,
  ) {}

  /** f(x), filling grad (which must be given). Non-finite f leaves grad undefined. */
  valueAndGradient(x: Float64Array, grad: Float64Array): number {
    if (this.analytic) {
      this.evaluations++;
      return this.fn(x, grad);
    }
    const f = this.value(x);
    if (Number.isFinite(f)) this.gradientAt(x, grad);
    return f;
  }

  /** f(x) alone: one evaluation. */
  value(x: Float64Array): number {
    this.evaluations++;
    return this.fn(x, null);
  }

  /**
   * ∇f at a point whose value f was just taken with value(). Counted with that evaluation (the analytic
   * objective computes f once more alongside), as if both had been asked for at once.
   */
  gradientAt(x: Float64Array, grad: Float64Array): void {
    if (this.analytic) {
      this.fn(x, grad);
      return;
    }
    const probe = Float64Array.from(x);
    for (let i = 0; i < x.length; i++) {
      // Step ~ cbrt(eps) scaled to the coordinate: the optimum for central differences.
      const h = 6e-6 * Math.max(1, Math.abs(x[i]));
      probe[i] = x[i] + h;
      const fp = this.fn(probe, null);
      probe[i] = x[i] - h;
      const fm = this.fn(probe, null);
      probe[i] = x[i];
      this.evaluations += 2;
      grad[i] = (fp - fm) / (2 * h);
    }
  }
}

interface LinePoint {
  alpha: number;
  f: number;
  slope: number;
  /** Whether slope (and gNew) has been taken at this point. */
  sloped: boolean;
}

/**
 * Strong-Wolfe line search along p from x (f0, slope0 = ∇f·p < 0). Returns the accepted step, writing the
 * new point and gradient into xNew / gNew, or null when no acceptable step was found.
 */
function lineSearch(
  ev: Evaluator,
  x: Float64Array,
  f0: number,
  slope0: number,
  p: Float64Array,
  xNew: Float64Array,
  gNew: Float64Array,
  alphaInit: number,
): LinePoint | null {
  const c1 = 1e-4;
  const c2 = 0.9;
  const n = x.length;
  // A first trial step is usually accepted and needs the gradient; a step tried while zooming usually
  // fails the sufficient-decrease test and needs f only (near the optimum, where f's rounding noise
  // exceeds the decrease a step can show, nearly all do). So zoom steps take f alone, and the gradient
  // when one passes: always the last point evaluated, so xNew / gNew describe it. Same points, same values.
  const at = (alpha: number, gradient: boolean): LinePoint => {
    for (let i = 0; i < n; i++) xNew[i] = x[i] + alpha * p[i];
    if (!gradient) return { alpha, f: ev.value(xNew), slope: Number.NaN, sloped: false };
    const f = ev.valueAndGradient(xNew, gNew);
    return { alpha, f, slope: Number.isFinite(f) ? dot(gNew, p) : Number.NaN, sloped: true };
  };
  const withSlope = (point: LinePoint): LinePoint => {
    if (point.sloped) return point;
    ev.gradientAt(xNew, gNew);
    point.slope = dot(gNew, p);
    point.sloped = true;
    return point;
  };
  const zoom = (lo: LinePoint, hi: LinePoint): LinePoint | null => {
    for (let k = 0; k < 40; k++) {
      // Cubic-free safeguarded interpolation: quadratic through lo (value, slope) and hi (value), kept inside
      // the central 80% of the bracket so the bracket always shrinks.
      const d = hi.alpha - lo.alpha;
      let alpha = lo.alpha + d / 2;
      if (Number.isFinite(hi.f)) {
        const denom = 2 * (hi.f - lo.f - lo.slope * d);
        if (denom > 0) {
          const cand = lo.alpha - (lo.slope * d * d) / denom;
          const a = Math.min(lo.alpha, hi.alpha);
          const b = Math.max(lo.alpha, hi.alpha);
          const margin = 0.1 * (b - a);
          if (cand > a + margin && cand < b - margin) alpha = cand;
        }
      }
      const cur = at(alpha, false);
      if (!Number.isFinite(cur.f) || cur.f > f0 + c1 * alpha * slope0 || cur.f >= lo.f) {
        hi = cur;
      } else {
        withSlope(cur);
        if (Math.abs(cur.slope) <= -c2 * slope0) return cur;
        if (cur.slope * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = cur;
      }
      if (Math.abs(hi.alpha - lo.alpha) < 1e-16 * Math.max(1, lo.alpha)) break;
    }
    // The bracket collapsed: accept lo if it decreased f (Armijo holds for it), re-evaluating so that
    // xNew / gNew describe it.
    if (lo.alpha > 0 && lo.f < f0) return at(lo.alpha, true);
    return null;
  };

  let prev: LinePoint = { alpha: 0, f: f0, slope: slope0, sloped: true };
  let alpha = alphaInit;
  for (let k = 0; k < 60; k++) {
    const cur = at(alpha, true);
    if (!Number.isFinite(cur.f)) {
      // Outside the domain (overflow in exp of a log-parameter): shrink towards the last good point.
      if (prev.alpha === 0 && k < 59) {
        alpha = alpha / 4;
        continue;
      }
      return zoom(prev, cur);
    }
    if (cur.f > f0 + c1 * alpha * slope0 || (k > 0 && cur.f >= prev.f)) return zoom(prev, cur);
    if (Math.abs(cur.slope) <= -c2 * slope0) return cur;
    if (cur.slope >= 0) return zoom(cur, prev);
    prev = cur;
    alpha *= 2;
  }
  return null;
}

/** Minimise fn from one starting point with BFGS. */
export function minimizeBfgs(fn: Objective, start: ArrayLike<number>, options: MinimizeOptions = {}): MinimizeResult {
  const opt = { ...DEFAULTS, ...options };
  const n = start.length;
  const ev = new Evaluator(fn, opt.analyticGradient);
  let x = Float64Array.from(start);
  let g = new Float64Array(n);
  let f = ev.valueAndGradient(x, g);
  const result = (status: MinimizeStatus, iterations: number): MinimizeResult => ({
    x,
    f,
    gradNorm: Number.isFinite(f) ? maxAbs(g) : Number.NaN,
    iterations,
    evaluations: ev.evaluations,
    status,
    converged: status === 'converged',
  });
  if (!Number.isFinite(f) || !g.every(Number.isFinite)) return result('non-finite', 0);

  // Inverse Hessian approximation, row-major; starts as identity and is rescaled after the first step
  // (N&W eq. 6.20) so the first trial step of every iteration is usually accepted.
  const H = new Float64Array(n * n);
  const resetH = (scale: number): void => {
    H.fill(0);
    for (let i = 0; i < n; i++) H[i * n + i] = scale;
  };
  resetH(1);
  const p = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  const Hy = new Float64Array(n);
  let smallSteps = 0;
  let freshH = true;

  for (let iter = 1; iter <= opt.maxIterations; iter++) {
    if (maxAbs(g) <= opt.gradTol) return result('converged', iter - 1);
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < n; j++) v -= H[i * n + j] * g[j];
      p[i] = v;
    }
    let slope = dot(g, p);
    // −∇fᵀ·H·∇f is twice the decrease a full quasi-Newton step predicts. Once that is below what f's
    // rounding can show, no line search can confirm progress (each would burn dozens of evaluations on
    // noise), so f is at its minimum to working precision.
    if (!freshH && slope < 0 && -slope <= opt.decreaseTol * (Math.abs(f) + 1)) return result('converged', iter - 1);
    if (!(slope < 0)) {
      // H lost positive definiteness numerically: fall back to steepest descent.
      resetH(1);
      freshH = true;
      for (let i = 0; i < n; i++) p[i] = -g[i];
      slope = dot(g, p);
    }
    // First step of a fresh H: cap the move to 1 unit (in log-parameter space: a factor e).
    const alphaInit = freshH ? Math.min(1, 1 / Math.max(maxAbs(p), 1e-300)) : 1;
    const step = lineSearch(ev, x, f, slope, p, xNew, gNew, alphaInit);
    if (step === null) {
      if (!freshH) {
        // Retry once from a fresh H before giving up.
        resetH(1);
        freshH = true;
        continue;
      }
      return result(maxAbs(g) <= Math.sqrt(opt.gradTol) ? 'converged' : 'line-search-failed', iter);
    }
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const fOld = f;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = step.f;
    if (Math.abs(fOld - f) <= opt.fTol * (Math.abs(f) + opt.fTol)) {
      smallSteps++;
      if (smallSteps >= 2) return result('converged', iter);
    } else smallSteps = 0;

    const sy = dot(s, y);
    if (sy > 1e-300) {
      if (freshH) resetH(sy / dot(y, y));
      freshH = false;
      // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, expanded to avoid forming the products.
      const rho = 1 / sy;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += H[i * n + j] * y[j];
        Hy[i] = v;
      }
      const yHy = dot(y, Hy);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] += -rho * (Hy[i] * s[j] + s[i] * Hy[j]) + (rho * rho * yHy + rho) * s[i] * s[j];
        }
      }
    }
  }
  return result(maxAbs(g) <= opt.gradTol ? 'converged' : 'max-iterations', opt.maxIterations);
}

/**
 * Minimise from each start and keep the best finite result (a converged one if any converged). Several
 * starts guard against the flat ridges these likelihoods have far from the optimum.
 */
export function minimize(fn: Objective, starts: readonly ArrayLike<number>[], options: MinimizeOptions = {}): MinimizeResult {
  let best: MinimizeResult | null = null;
  let evaluations = 0;
  for (const start of starts) {
    const r = minimizeBfgs(fn, start, options);
    evaluations += r.evaluations;
    if (!Number.isFinite(r.f)) continue;
    if (
      best === null ||
      (r.converged && !best.converged) ||
      (r.converged === best.converged && r.f < best.f)
    ) {
      best = r;
    }
  }
  if (best === null) {
    return {
      x: Float64Array.from(starts[0] ?? []),
      f: Number.NaN,
      gradNorm: Number.NaN,
      iterations: 0,
      evaluations,
      status: 'non-finite',
      converged: false,
    };
  }
  return { ...best, evaluations };
}
