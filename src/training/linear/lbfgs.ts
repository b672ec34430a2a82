// Limited-memory BFGS for smooth convex objectives (Nocedal & Wright, Numerical Optimization,
// algorithms 7.4 and 7.5), with a line search satisfying the strong Wolfe conditions
// (algorithms 3.5 and 3.6, cubic interpolation in the zoom phase). Deterministic: no
// randomness, a fixed order of floating-point operations.

/** Writes the gradient at `x` into `grad` and returns the objective value. */
export type ObjectiveFn = (x: Float64Array, grad: Float64Array) => number;

export interface SolverOptions {
  /** Iteration cap (one iteration = one line search, or one proximal step for FISTA). */
  maxIter: number;
  /** Stop when the largest absolute (composite) gradient entry is at most this. */
  tol: number;
}

export interface SolverResult {
  x: Float64Array;
  f: number;
  iterations: number;
  /** True when the gradient criterion was met (or no further decrease is representable). */
  converged: boolean;
}

const C1 = 1e-4;
const C2 = 0.9;
const MEMORY = 10;
/** Relative decrease below which the objective is at the limit of float64 resolution. */
const F_RESOLUTION = 4 * Number.EPSILON;

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i] as number);
    if (a > m) m = a;
  }
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN when it has none. */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return Number.NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
}

/**
 * Minimises `fg` from `x0`. Stops when max|∇f| ≤ tol, when the line search can no longer
 * decrease f (reported as converged only if the relative change is at float64 resolution),
 * or after maxIter iterations.
 */
export function minimizeLbfgs(fg: ObjectiveFn, x0: Float64Array, options: SolverOptions): SolverResult {
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const d = new Float64Array(n);
  const xt = new Float64Array(n);
  const gt = new Float64Array(n);
  const alphaBuf = new Float64Array(MEMORY);
  let iterations = 0;
  if (maxAbs(g) <= options.tol) return { x, f, iterations, converged: true };

  while (iterations < options.maxIter) {
    iterations++;
    // Two-loop recursion: d = −H·g with H the implicit inverse-Hessian approximation.
    for (let i = 0; i < n; i++) d[i] = -(g[i] as number);
    const m = sList.length;
    for (let k = m - 1; k >= 0; k--) {
      const a = (rhoList[k] as number) * dot(sList[k] as Float64Array, d);
      alphaBuf[k] = a;
      const yk = yList[k] as Float64Array;
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) - a * (yk[i] as number);
    }
    if (m > 0) {
      const yk = yList[m - 1] as Float64Array;
      const gamma = dot(sList[m - 1] as Float64Array, yk) / dot(yk, yk);
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) * gamma;
    }
    for (let k = 0; k < m; k++) {
      const b = (rhoList[k] as number) * dot(yList[k] as Float64Array, d);
      const sk = sList[k] as Float64Array;
      const a = alphaBuf[k] as number;
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) + (a - b) * (sk[i] as number);
    }
    let dg0 = dot(d, g);
    if (!(dg0 < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sList.length = 0;
      yList.length = 0;
      rhoList.length = 0;
      for (let i = 0; i < n; i++) d[i] = -(g[i] as number);
      dg0 = dot(d, g);
    }
    const firstStep = sList.length === 0 ? Math.min(1, 1 / Math.sqrt(-dg0)) : 1;

    // φ(a) = f(x + a·d); each evaluation leaves the point in xt and its gradient in gt.
    let lastA = Number.NaN;
    let lastF = Number.NaN;
    const phi = (a: number): { f: number; dg: number } => {
      for (let i = 0; i < n; i++) xt[i] = (x[i] as number) + a * (d[i] as number);
      lastF = fg(xt, gt);
      lastA = a;
      return { f: lastF, dg: dot(gt, d) };
    };
    const accepted = wolfeSearch(phi, f, dg0, firstStep);
    if (accepted === null) {
      // No step decreases f any more: we are at the resolution limit of the objective.
      return { x, f, iterations, converged: maxAbs(g) <= options.tol };
    }
    if (lastA !== accepted) phi(accepted);
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = (xt[i] as number) - (x[i] as number);
      y[i] = (gt[i] as number) - (g[i] as number);
    }
    const sy = dot(s, y);
    const fOld = f;
    f = lastF;
    x.set(xt);
    g.set(gt);
    // Keep the pair only if it keeps the approximation positive definite.
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sList.length === MEMORY) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    if (maxAbs(g) <= options.tol) return { x, f, iterations, converged: true };
    if (Math.abs(fOld - f) <= F_RESOLUTION * Math.max(Math.abs(fOld), Math.abs(f), 1e-300)) {
      return { x, f, iterations, converged: true };
    }
  }
  return { x, f, iterations, converged: false };
}

/**
 * Strong-Wolfe line search (Nocedal & Wright algorithm 3.5): returns an accepted step, or
 * null when no step with sufficient decrease was found.
 */
function wolfeSearch(
  phi: (a: number) => { f: number; dg: number },
  f0: number,
  dg0: number,
  a1: number,
): number | null {
  let aPrev = 0;
  let fPrev = f0;
  let dgPrev = dg0;
  let a = a1;
  for (let i = 0; i < 40; i++) {
    const { f, dg } = phi(a);
    if (!Number.isFinite(f) || f > f0 + C1 * a * dg0 || (i > 0 && f >= fPrev)) {
      return zoom(phi, f0, dg0, aPrev, fPrev, dgPrev, a, f, dg);
    }
    if (Math.abs(dg) <= -C2 * dg0) return a;
    if (dg >= 0) return zoom(phi, f0, dg0, a, f, dg, aPrev, fPrev, dgPrev);
    aPrev = a;
    fPrev = f;
    dgPrev = dg;
    a *= 2;
  }
  return aPrev > 0 ? aPrev : null;
}

/** The zoom phase (algorithm 3.6) between a low end that decreases f and a high end. */
function zoom(
  phi: (a: number) => { f: number; dg: number },
  f0: number,
  dg0: number,
  loIn: number,
  fLoIn: number,
  dgLoIn: number,
  hiIn: number,
  fHiIn: number,
  dgHiIn: number,
): number | null {
  let lo = loIn;
  let fLo = fLoIn;
  let dgLo = dgLoIn;
  let hi = hiIn;
  let fHi = fHiIn;
  let dgHi = dgHiIn;
  for (let j = 0; j < 40; j++) {
    const left = Math.min(lo, hi);
    const width = Math.abs(hi - lo);
    if (width <= 1e-16 * Math.max(1, Math.abs(lo))) break;
    // Cubic interpolation, kept inside the middle 80 % of the bracket, else bisection.
    let a = Number.isFinite(fHi) ? cubicMin(lo, fLo, dgLo, hi, fHi, dgHi) : Number.NaN;
    if (!(a >= left + 0.1 * width && a <= left + 0.9 * width)) a = (lo + hi) / 2;
    const { f, dg } = phi(a);
    if (!Number.isFinite(f) || f > f0 + C1 * a * dg0 || f >= fLo) {
      hi = a;
      fHi = f;
      dgHi = dg;
    } else {
      if (Math.abs(dg) <= -C2 * dg0) return a;
      if (dg * (hi - lo) >= 0) {
        hi = lo;
        fHi = fLo;
        dgHi = dgLo;
      }
      lo = a;
      fLo = f;
      dgLo = dg;
    }
  }
  // The bracket collapsed: accept the best point with sufficient decrease, if any.
  return lo > 0 && fLo < f0 ? lo : null;
}
