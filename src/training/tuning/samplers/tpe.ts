// Tree-structured Parzen Estimator (Bergstra et al. 2011; Watanabe 2023's review), univariate as
// in Optuna's default TPESampler: the finished trials are split into the best gamma(n) ("good")
// and the rest, each parameter gets a Parzen estimator l(x) over the good trials where it was
// active and g(x) over the bad ones, and the candidate among nEiCandidates draws from l that
// maximises l(x)/g(x) is chosen. Until nStartupTrials trials have finished it samples uniformly.
import { FalajError } from '../../../core/errors.js';
import {
  type CompiledSpace,
  choiceIndex,
  fromInternal,
  internalCell,
  isActive,
  type Params,
  toInternal,
} from '../space.js';
import { bestFirst, type Direction, type TrialRecord } from '../trial.js';
import { CategoricalParzen, defaultWeights, NumericParzen, type ParzenOptions } from './parzen.js';
import { sampleAllUniform } from './random.js';
import type { Sampler } from './sampler.js';

export interface TpeOptions {
  /** Trials sampled uniformly before TPE starts (default 10). */
  nStartupTrials?: number;
  /** Draws from l(x) scored per parameter (default 24). */
  nEiCandidates?: number;
  /** Number of "good" trials among n finished ones (default min(ceil(0.1·n), 25)). */
  gamma?: (n: number) => number;
  /** Add a prior kernel (default true) of this weight (default 1). */
  considerPrior?: boolean;
  priorWeight?: number;
  /** Clip bandwidths from below by range / min(100, 1 + kernels) (default true). */
  considerMagicClip?: boolean;
  /** Let the range ends widen the extreme kernels (default false). */
  considerEndpoints?: boolean;
  /** Kernel weights for n observations, oldest first (default: flat under 25, then a ramp). */
  weights?: (n: number) => number[];
}

export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `tpe sampler: ${name} must be an integer ≥ ${min}, got ${v}`,
      {
        parameter: name,
      },
    );
  }
  return v;
}

/** The value a pruned trial reached at its last step (for ranking pruned trials). */
function lastIntermediate(t: TrialRecord): { step: number; value: number } | undefined {
  return t.intermediateValues[t.intermediateValues.length - 1];
}

/**
 * Splits finished trials into the `nGood` best and the rest, each in trial-number order (the
 * kernel weights favour recent trials). Complete trials rank by value; pruned trials rank after
 * every complete one, those that got further first, then by their last intermediate value.
 */
export function splitTrials(
  trials: readonly TrialRecord[],
  direction: Direction,
  nGood: number,
): { good: TrialRecord[]; bad: TrialRecord[] } {
  const cmp = bestFirst(direction);
  const complete = trials
    .filter((t) => t.state === 'complete')
    .sort((a, b) => cmp(a.value!, b.value!) || a.number - b.number);
  const pruned = trials
    .filter((t) => t.state === 'pruned')
    .sort((a, b) => {
      const la = lastIntermediate(a);
      const lb = lastIntermediate(b);
      if (la === undefined || lb === undefined)
        return (la === undefined ? 1 : 0) - (lb === undefined ? 1 : 0) || a.number - b.number;
      return lb.step - la.step || cmp(la.value, lb.value) || a.number - b.number;
    });
  const ranked = [...complete, ...pruned];
  const byNumber = (a: TrialRecord, b: TrialRecord) => a.number - b.number;
  return { good: ranked.slice(0, nGood).sort(byNumber), bad: ranked.slice(nGood).sort(byNumber) };
}

export function tpeSampler(options: TpeOptions = {}): Sampler {
  const nStartup = positiveInt('nStartupTrials', options.nStartupTrials ?? 10, 0);
  const nCandidates = positiveInt('nEiCandidates', options.nEiCandidates ?? 24, 1);
  const gamma = options.gamma ?? defaultGamma;
  const priorWeight = options.priorWeight ?? 1;
  if (!(priorWeight > 0) || !Number.isFinite(priorWeight)) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `tpe sampler: priorWeight must be positive, got ${priorWeight}`,
      {
        parameter: 'priorWeight',
      },
    );
  }
  const parzen: ParzenOptions = {
    considerPrior: options.considerPrior ?? true,
    priorWeight,
    considerMagicClip: options.considerMagicClip ?? true,
    considerEndpoints: options.considerEndpoints ?? false,
    weights: options.weights ?? defaultWeights,
  };
  return {
    name: 'tpe',
    bind: (space: CompiledSpace) => ({
      capacity: undefined,
      sample(ctx) {
        const finished = ctx.history.filter((t) => t.state === 'complete' || t.state === 'pruned');
        if (finished.length < nStartup || finished.length === 0) return sampleAllUniform(space, ctx.random);
        const nGood = Math.max(0, Math.min(finished.length, Math.floor(gamma(finished.length))));
        const { good, bad } = splitTrials(finished, ctx.direction, nGood);
        const params: Params = {};
        for (const name of space.order) {
          if (!isActive(space, name, params)) continue;
          const param = space.params.get(name)!;
          // Only trials where the parameter was active inform it.
          const goodValues = good.filter((t) => name in t.params).map((t) => t.params[name]!);
          const badValues = bad.filter((t) => name in t.params).map((t) => t.params[name]!);
          if (param.spec.type === 'categorical') {
            const choices = param.spec.choices;
            const l = new CategoricalParzen(
              goodValues.map((v) => choiceIndex(choices, v)),
              choices.length,
              parzen,
            );
            const g = new CategoricalParzen(
              badValues.map((v) => choiceIndex(choices, v)),
              choices.length,
              parzen,
            );
            let best = -1;
            let bestScore = Number.NEGATIVE_INFINITY;
            for (let c = 0; c < nCandidates; c++) {
              const i = l.sample(ctx.random);
              const score = l.logLikelihood(i) - g.logLikelihood(i);
              if (score > bestScore) {
                bestScore = score;
                best = i;
              }
            }
            params[name] = choices[best]!;
          } else {
            const d = param.numeric!;
            const l = new NumericParzen(
              goodValues.map((v) => toInternal(d, v as number)),
              d.lo,
              d.hi,
              parzen,
            );
            const g = new NumericParzen(
              badValues.map((v) => toInternal(d, v as number)),
              d.lo,
              d.hi,
              parzen,
            );
            let best = Number.NaN;
            let bestScore = Number.NEGATIVE_INFINITY;
            for (let c = 0; c < nCandidates; c++) {
              // Discrete values are scored by the mass of the interval that rounds to them.
              const value = fromInternal(d, l.sample(ctx.random));
              const cell = internalCell(d, value);
              const x = toInternal(d, value);
              const score = l.logLikelihood(x, cell) - g.logLikelihood(x, cell);
              if (score > bestScore || Number.isNaN(best)) {
                bestScore = score;
                best = value;
              }
            }
            params[name] = best;
          }
        }
        return params;
      },
    }),
  };
}
