// Parzen estimators for TPE, after the description in Bergstra et al. (2011) and the defaults of
// Optuna's TPESampler: one kernel per observation plus a prior kernel, truncated-normal kernels
// whose bandwidth is the distance to the farther neighbour (ends: the nearer one) clipped by the
// "magic clip" to [range / min(100, 1 + kernels), range], and categorical kernels that put an
// extra unit of mass on the observed choice over a uniform prior.
import { FalajError } from '../../../core/errors.js';
import type { Random } from '../../random.js';

export interface ParzenOptions {
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
  /** Weights of n observations, oldest first. */
  weights: (n: number) => number[];
}

/** Optuna's default: equal weights under 25 observations, else a ramp from 1/n up to 1 on all but the newest 25. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const m = n - 25;
  const ramp = Array.from({ length: m }, (_, i) => (m === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (m - 1)));
  return [...ramp, ...new Array<number>(25).fill(1)];
}

function mixtureWeights(n: number, o: ParzenOptions): number[] {
  const w = o.weights(n);
  if (w.length !== n || w.some((x) => !(x >= 0))) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `tpe sampler: weights(${n}) must give ${n} non-negative numbers`,
      {
        parameter: 'weights',
      },
    );
  }
  if (o.considerPrior) w.push(o.priorWeight);
  const sum = w.reduce((a, b) => a + b, 0);
  return sum > 0 ? w.map((x) => x / sum) : w.map(() => 1 / w.length);
}

// Complementary error function, Numerical Recipes' erfcc (fractional error < 1.2e-7 everywhere),
// which keeps tail masses accurate where 1 - erf would cancel.
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(a < Z < b) for a standard normal, computed on the side of the tail for accuracy. */
export function normalMass(a: number, b: number): number {
  const s = Math.SQRT1_2;
  if (a >= 0) return 0.5 * (erfc(a * s) - erfc(b * s));
  if (b <= 0) return 0.5 * (erfc(-b * s) - erfc(-a * s));
  return 1 - 0.5 * erfc(b * s) - 0.5 * erfc(-a * s);
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const TINY = 1e-300;

function logSumExp(xs: number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m) m = x;
  if (m === Number.NEGATIVE_INFINITY) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

function pickKernel(weights: readonly number[], random: Random): number {
  let u = random.next();
  for (let k = 0; k < weights.length - 1; k++) {
    u -= weights[k]!;
    if (u < 0) return k;
  }
  return weights.length - 1;
}

/** A mixture of normals truncated to [lo, hi] over the internal coordinate of a numeric parameter. */
export class NumericParzen {
  readonly mus: number[];
  readonly sigmas: number[];
  readonly weights: number[];
  private readonly logZ: number[];

  constructor(
    observations: readonly number[],
    private readonly lo: number,
    private readonly hi: number,
    options: ParzenOptions,
  ) {
    const range = hi - lo;
    const priorMu = 0.5 * (lo + hi);
    const n = observations.length;
    const withPrior = options.considerPrior ? [...observations, priorMu] : [...observations];
    const sigmas = new Array<number>(n).fill(range);
    if (withPrior.length > 0) {
      // Bandwidth of each kernel: the larger gap to its sorted neighbours, the range ends acting
      // as neighbours of the extremes; without considerEndpoints the extremes use their inner gap.
      const idx = withPrior.map((_, i) => i).sort((a, b) => withPrior[a]! - withPrior[b]! || a - b);
      const sorted = [lo, ...idx.map((i) => withPrior[i]!), hi];
      const m = withPrior.length;
      for (let j = 1; j <= m; j++) {
        let s = Math.max(sorted[j]! - sorted[j - 1]!, sorted[j + 1]! - sorted[j]!);
        if (!options.considerEndpoints && m >= 2) {
          if (j === 1) s = sorted[2]! - sorted[1]!;
          else if (j === m) s = sorted[m]! - sorted[m - 1]!;
        }
        const i = idx[j - 1]!;
        if (i < n) sigmas[i] = s;
      }
    }
    const maxSigma = range;
    const minSigma = options.considerMagicClip ? range / Math.min(100, 1 + withPrior.length) : 1e-12;
    for (let i = 0; i < n; i++) sigmas[i] = Math.min(maxSigma, Math.max(minSigma, sigmas[i]!));
    this.mus = withPrior;
    this.sigmas = options.considerPrior ? [...sigmas, range] : sigmas;
    this.weights = mixtureWeights(n, options);
    // Degenerate range (low == high): one point carries all the mass.
    if (range <= 0) this.sigmas = this.sigmas.map(() => 1);
    this.logZ = this.mus.map((mu, k) =>
      Math.log(Math.max(TINY, normalMass((lo - mu) / this.sigmas[k]!, (hi - mu) / this.sigmas[k]!))),
    );
  }

  get empty(): boolean {
    return this.mus.length === 0;
  }

  sample(random: Random): number {
    if (this.empty || this.hi <= this.lo) return this.lo + random.next() * (this.hi - this.lo);
    const k = pickKernel(this.weights, random);
    const mu = this.mus[k]!;
    const sigma = this.sigmas[k]!;
    // Rejection from the untruncated normal: the mass inside is at least ~1/3 since mu lies in
    // [lo, hi] and sigma ≤ hi - lo; the cap only guards against a pathological stream.
    for (let tries = 0; tries < 1000; tries++) {
      const x = mu + sigma * random.normal();
      if (x >= this.lo && x <= this.hi) return x;
    }
    return Math.min(this.hi, Math.max(this.lo, mu));
  }

  /** Log density at x, or with `cell` the log probability of the interval (discrete values). */
  logLikelihood(x: number, cell?: readonly [number, number]): number {
    if (this.empty || this.hi <= this.lo) return -Math.log(Math.max(TINY, this.hi - this.lo));
    const terms = this.mus.map((mu, k) => {
      const sigma = this.sigmas[k]!;
      const logW = Math.log(this.weights[k]!);
      if (cell !== undefined) {
        const a = Math.max(cell[0], this.lo);
        const b = Math.min(cell[1], this.hi);
        return (
          logW + Math.log(Math.max(TINY, normalMass((a - mu) / sigma, (b - mu) / sigma))) - this.logZ[k]!
        );
      }
      const z = (x - mu) / sigma;
      return logW - 0.5 * z * z - LOG_SQRT_2PI - Math.log(sigma) - this.logZ[k]!;
    });
    return logSumExp(terms);
  }
}

/** A mixture of categorical kernels over choice indices. */
export class CategoricalParzen {
  /** Mixture probability of each choice. */
  readonly probabilities: number[];

  constructor(observations: readonly number[], nChoices: number, options: ParzenOptions) {
    const n = observations.length;
    const nKernels = n + (options.considerPrior ? 1 : 0);
    if (nKernels === 0) {
      this.probabilities = new Array<number>(nChoices).fill(1 / nChoices);
      return;
    }
    const w = mixtureWeights(n, options);
    const base = options.priorWeight / nKernels;
    const probs = new Array<number>(nChoices).fill(0);
    for (let k = 0; k < n; k++) {
      const rowSum = base * nChoices + 1;
      for (let c = 0; c < nChoices; c++)
        probs[c]! += (w[k]! * (base + (c === observations[k] ? 1 : 0))) / rowSum;
    }
    // The prior kernel is uniform.
    if (options.considerPrior) for (let c = 0; c < nChoices; c++) probs[c]! += w[n]! / nChoices;
    this.probabilities = probs;
  }

  sample(random: Random): number {
    return pickKernel(this.probabilities, random);
  }

  logLikelihood(index: number): number {
    return Math.log(Math.max(TINY, this.probabilities[index]!));
  }
}
