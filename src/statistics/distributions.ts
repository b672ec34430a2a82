// Distribution functions the drift tests need for their p-values. Everything is built on the
// regularised incomplete gamma function, so the normal tail (erfc) and the chi-squared
// survival function share one carefully converging implementation instead of two
// approximations with different error profiles.

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);
const LN_SQRT_PI = 0.5 * Math.log(Math.PI);

/** ln Γ(x) for x > 0 (Lanczos, g = 7; about 1e-15 relative). */
export function lnGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`lnGamma needs x > 0, got ${x}`);
  // Γ(1/2) = √π is the value the normal distribution hits on every call: use it exactly.
  if (x === 0.5) return LN_SQRT_PI;
  if (x === 1 || x === 2) return 0;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0] as number;
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += (LANCZOS[i] as number) / (z + i);
  return HALF_LN_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const EPS = 1e-17;
const TINY = 1e-300;
const MAX_ITER = 100_000;

/** Series for P(a, x), which converges fast for x < a + 1. */
function gammaPSeries(a: number, x: number): number {
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < MAX_ITER; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
}

/** Continued fraction (modified Lentz) for Q(a, x), which converges fast for x ≥ a + 1. */
function gammaQFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
}

/** Regularised lower incomplete gamma P(a, x) = γ(a, x) / Γ(a). */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  return x < a + 1 ? gammaPSeries(a, x) : 1 - gammaQFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate (relative) in the upper tail. */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return x < a + 1 ? 1 - gammaPSeries(a, x) : gammaQFraction(a, x);
}

/** Survival function of the chi-squared distribution with `df` degrees of freedom: P(X ≥ x). */
export function chiSquaredSf(x: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`chi-squared needs df > 0, got ${df}`);
  return gammaQ(df / 2, x / 2);
}

/** Complementary error function, via erfc(x) = Q(1/2, x²) for x ≥ 0. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  return gammaQ(0.5, x * x);
}

/** Standard normal survival function P(Z ≥ z), accurate relative to its value deep into the upper tail. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Standard normal cumulative distribution P(Z ≤ z), accurate in the lower tail. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * Survival function of the Kolmogorov distribution (the limit of √n·D_n): P(K ≥ λ).
 * Two series, each used where it converges in a few terms: the alternating series
 * 2 Σ (−1)^(k−1) exp(−2k²λ²) for large λ, and 1 − (√(2π)/λ) Σ exp(−(2k−1)²π²/(8λ²)) for small λ.
 */
export function kolmogorovSf(lambda: number): number {
  if (Number.isNaN(lambda)) return Number.NaN;
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    const f = (-Math.PI * Math.PI) / (8 * lambda * lambda);
    let s = 0;
    for (let k = 1; k < 100; k++) {
      const t = Math.exp((2 * k - 1) * (2 * k - 1) * f);
      s += t;
      if (t < 1e-17 * s) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / lambda) * s;
  }
  let s = 0;
  for (let k = 1; k < 100; k++) {
    const t = Math.exp(-2 * k * k * lambda * lambda);
    s += k % 2 === 1 ? t : -t;
    if (t < 1e-17 * Math.abs(s)) break;
  }
  return Math.max(0, Math.min(1, 2 * s));
}

/**
 * Exact p-value of the two-sided two-sample Kolmogorov–Smirnov test, P(D ≥ d), under the null
 * that both samples come from one continuous distribution. `dScaled` is D·n·m, an integer (the
 * statistic is always a multiple of 1/(n·m)), so that the boundary test below is exact.
 *
 * Every ordering of the pooled sample is equally likely: a monotone lattice path from (0,0) to
 * (n,m). The DP tracks, for each point, the share of paths reaching it that have already touched
 * a point with |i·m − j·n| ≥ D·n·m. Shares (not counts) stay in [0, 1], so nothing overflows and
 * small p-values keep their relative precision (no 1 − x cancellation). O(n·m) time, O(m) memory.
 */
export function ksTwoSampleExactSf(n: number, m: number, dScaled: number): number {
  if (dScaled <= 0) return 1;
  const row = new Float64Array(m + 1);
  // Row i = 0: points (0, j). The path hits the boundary once j·n ≥ dScaled.
  for (let j = 0; j <= m; j++) row[j] = j * n >= dScaled ? 1 : j === 0 ? 0 : (row[j - 1] as number);
  for (let i = 1; i <= n; i++) {
    const im = i * m;
    row[0] = im >= dScaled ? 1 : (row[0] as number);
    for (let j = 1; j <= m; j++) {
      const diff = im - j * n;
      if (diff >= dScaled || -diff >= dScaled) {
        row[j] = 1;
      } else {
        // Paths into (i, j) come from (i−1, j) in a share i/(i+j) and from (i, j−1) in a share j/(i+j).
        row[j] = ((row[j] as number) * i + (row[j - 1] as number) * j) / (i + j);
      }
    }
  }
  return row[m] as number;
}
