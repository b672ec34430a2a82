// Two-sample tests and distances on reference (expected) versus current (observed) data, each
// defined as the library Evidently calls defines it (scipy), so that a Falaj report and an
// Evidently report on the same data read the same.
import { chiSquaredSf, kolmogorovSf, ksTwoSampleExactSf, normalSf } from './distributions.js';

export interface TestResult {
  statistic: number;
  pValue: number;
}

/** scipy's `ks_2samp(method='auto')` computes the exact p-value when max(n, m) ≤ 10,000. */
export const KS_EXACT_MAX_N = 10_000;

/**
 * The ECDF comparison of two sorted samples, merged over their pooled distinct values:
 * `dScaled` = max |F·n·m − G·n·m| (an integer: D·n·m) and `wasserstein` = ∫|F − G| dx, the
 * Wasserstein-1 distance between the two empirical distributions (F, G right-continuous ECDFs).
 */
export interface EcdfComparison {
  n: number;
  m: number;
  dScaled: number;
  wasserstein: number;
}

export function compareSorted(ref: Float64Array, cur: Float64Array): EcdfComparison {
  const n = ref.length;
  const m = cur.length;
  let i = 0;
  let j = 0;
  let dMax = 0;
  let area = 0; // Σ (next − v)·|D|, divided by n·m once at the end.
  while (i < n || j < m) {
    const v = Math.min(
      i < n ? (ref[i] as number) : Number.POSITIVE_INFINITY,
      j < m ? (cur[j] as number) : Number.POSITIVE_INFINITY,
    );
    while (i < n && ref[i] === v) i++;
    while (j < m && cur[j] === v) j++;
    const d = Math.abs(i * m - j * n);
    if (d > dMax) dMax = d;
    if (i < n || j < m) {
      const next = Math.min(
        i < n ? (ref[i] as number) : Number.POSITIVE_INFINITY,
        j < m ? (cur[j] as number) : Number.POSITIVE_INFINITY,
      );
      area += (next - v) * d;
    }
  }
  return { n, m, dScaled: dMax, wasserstein: area / (n * m) };
}

export type KsPMethod = 'exact' | 'asymptotic';

/**
 * Two-sided two-sample KS p-value for D = dScaled/(n·m). Exact (lattice paths) when
 * max(n, m) ≤ 10,000 as scipy's 'auto' does; otherwise the Kolmogorov limiting distribution at
 * λ = D·√(n·m/(n+m)). (scipy's asymptotic branch evaluates the one-sample distribution at
 * round(n·m/(n+m)) instead; the two agree to O(1/√(n·m/(n+m))).)
 */
export function ksPValue(n: number, m: number, dScaled: number): { pValue: number; method: KsPMethod } {
  if (Math.max(n, m) <= KS_EXACT_MAX_N) return { pValue: ksTwoSampleExactSf(n, m, dScaled), method: 'exact' };
  const d = dScaled / (n * m);
  return { pValue: kolmogorovSf(d * Math.sqrt((n * m) / (n + m))), method: 'asymptotic' };
}

/** Two-sample KS on raw samples (sorted copies are made): statistic D and its p-value. */
export function ksTwoSample(ref: Float64Array, cur: Float64Array): TestResult & { method: KsPMethod } {
  const c = compareSorted(ref, cur);
  const p = ksPValue(c.n, c.m, c.dScaled);
  return { statistic: c.dScaled / (c.n * c.m), pValue: p.pValue, method: p.method };
}

/**
 * Evidently's chi-squared test: a goodness-of-fit test of the current counts against the
 * reference counts scaled to the current size (f_exp = ref·m/n), df = k − 1 over the union of
 * categories. A category absent from the reference but present in the current data makes the
 * statistic infinite and p = 0 (scipy's arithmetic). With a single category (df = 0) there is
 * nothing to test: p = 1.
 */
export function chiSquareGoodnessOfFit(
  refCounts: readonly number[],
  curCounts: readonly number[],
): TestResult {
  let n = 0;
  let m = 0;
  for (const c of refCounts) n += c;
  for (const c of curCounts) m += c;
  const scale = m / n;
  let stat = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const expected = (refCounts[i] as number) * scale;
    const observed = curCounts[i] as number;
    if (expected === 0) {
      if (observed > 0) stat = Number.POSITIVE_INFINITY;
      continue;
    }
    stat += ((observed - expected) * (observed - expected)) / expected;
  }
  const df = refCounts.length - 1;
  if (df < 1) return { statistic: 0, pValue: 1 };
  return { statistic: stat, pValue: stat === Number.POSITIVE_INFINITY ? 0 : chiSquaredSf(stat, df) };
}

/**
 * Z-test for two proportions with the pooled variance, two-sided:
 * z = (p₁ − p₂)/√(P(1−P)(1/n₁ + 1/n₂)), P = (x₁ + x₂)/(n₁ + n₂), p = 2·(1 − Φ(|z|)).
 * When every value is the same (P ∈ {0, 1}) there is no difference to test: z = 0, p = 1 (Evidently).
 */
export function zTestTwoProportions(x1: number, n1: number, x2: number, n2: number): TestResult {
  const pooled = (x1 + x2) / (n1 + n2);
  if (pooled <= 0 || pooled >= 1) return { statistic: 0, pValue: 1 };
  const z = (x1 / n1 - x2 / n2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return { statistic: z, pValue: 2 * normalSf(Math.abs(z)) };
}

function normalise(a: readonly number[]): number[] {
  let s = 0;
  for (const x of a) s += x;
  return a.map((x) => x / s);
}

/**
 * Jensen–Shannon distance as scipy's `jensenshannon` (base e): both vectors are normalised to
 * sum 1, m = (p + q)/2, and the result is √(½ KL(p‖m) + ½ KL(q‖m)), in [0, √ln 2].
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  const pn = normalise(p);
  const qn = normalise(q);
  let js = 0;
  for (let i = 0; i < pn.length; i++) {
    const a = pn[i] as number;
    const b = qn[i] as number;
    const mid = (a + b) / 2;
    if (a > 0) js += a * Math.log(a / mid);
    if (b > 0) js += b * Math.log(b / mid);
  }
  return Math.sqrt(Math.max(0, js / 2));
}

/**
 * Evidently's empty-bin rule, applied to each side separately: a zero share becomes 0.0001, or
 * (smallest non-zero share)/10⁶ when that smallest share is itself ≤ 0.0001.
 */
export function fillZeroShares(shares: readonly number[]): number[] {
  let minNonZero = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s > 0 && s < minNonZero) minNonZero = s;
  const fill = minNonZero <= 0.0001 ? minNonZero / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

/** PSI = Σ (Eᵢ − Aᵢ)·ln(Eᵢ/Aᵢ) over bin shares (E reference, A current) after {@link fillZeroShares}. */
export function populationStabilityIndex(refShares: readonly number[], curShares: readonly number[]): number {
  const e = fillZeroShares(refShares);
  const a = fillZeroShares(curShares);
  let psi = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = e[i] as number;
    const ai = a[i] as number;
    psi += (ei - ai) * Math.log(ei / ai);
  }
  return psi;
}

/** L∞ distance of normalised frequencies, max |pᵢ − qᵢ| (TFDV's categorical drift measure). */
export function lInfinityDistance(p: readonly number[], q: readonly number[]): number {
  const pn = normalise(p);
  const qn = normalise(q);
  let d = 0;
  for (let i = 0; i < pn.length; i++) d = Math.max(d, Math.abs((pn[i] as number) - (qn[i] as number)));
  return d;
}

/** Population standard deviation (numpy's `np.std`, ddof = 0), two-pass. */
export function populationStd(values: Float64Array): number {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / n);
}

/** Evidently's normalised Wasserstein: W₁ / max(std_ref, 0.001). */
export function normalisedWasserstein(w1: number, refStd: number): number {
  return w1 / Math.max(refStd, 0.001);
}
