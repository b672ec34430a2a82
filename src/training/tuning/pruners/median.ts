// The median stopping rule, as Optuna's MedianPruner: after nStartupTrials complete trials and
// nWarmupSteps steps, at the first report in each interval of intervalSteps, a trial whose best
// intermediate value so far is worse than the median of the complete trials' values at the same
// step is pruned (at least nMinTrials of them must have reported that step).
import { FalajError } from '../../../core/errors.js';
import type { Pruner } from './pruner.js';
import { stepMap } from './pruner.js';

export interface MedianOptions {
  /** Complete trials needed before anything is pruned (default 5). */
  nStartupTrials?: number;
  /** Steps before pruning may start: no pruning while step < nWarmupSteps (default 0). */
  nWarmupSteps?: number;
  /** Pruning is considered at the first report of each interval of this many steps (default 1). */
  intervalSteps?: number;
  /** Trials that must have reported the step for a median to count (default 1). */
  nMinTrials?: number;
  /** The percentile compared against (default 50: the median). */
  percentile?: number;
}

function check(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `median pruner: ${name} must be an integer ≥ ${min}, got ${v}`,
      {
        parameter: name,
      },
    );
  }
  return v;
}

/** numpy's default percentile: linear interpolation between the closest ranks. */
export function percentileOf(sorted: readonly number[], q: number): number {
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function medianPruner(options: MedianOptions = {}): Pruner {
  const nStartup = check('nStartupTrials', options.nStartupTrials ?? 5, 0);
  const nWarmup = check('nWarmupSteps', options.nWarmupSteps ?? 0, 0);
  const interval = check('intervalSteps', options.intervalSteps ?? 1, 1);
  const nMin = check('nMinTrials', options.nMinTrials ?? 1, 1);
  const q = options.percentile ?? 50;
  if (!(q >= 0 && q <= 100)) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `median pruner: percentile must be in [0, 100], got ${q}`,
      {
        parameter: 'percentile',
      },
    );
  }
  return {
    name: 'median',
    shouldPrune({ direction, intermediateValues, history }) {
      const last = intermediateValues[intermediateValues.length - 1];
      if (last === undefined) return false;
      const step = last.step;
      if (step < nWarmup) return false;
      // Only the first report at or after each pruning point counts, so a trial reporting every
      // step with intervalSteps 10 is judged at most once per 10 steps.
      const previous = intermediateValues[intermediateValues.length - 2]?.step ?? -1;
      const point = Math.floor((step - nWarmup) / interval) * interval + nWarmup;
      if (previous >= point) return false;
      const complete = history.filter((t) => t.state === 'complete');
      if (complete.length === 0 || complete.length < nStartup) return false;
      const others: number[] = [];
      for (const t of complete) {
        const v = stepMap(t).get(step);
        if (v !== undefined) others.push(v);
      }
      if (others.length < nMin) return false;
      others.sort((a, b) => a - b);
      let best = last.value;
      for (const iv of intermediateValues)
        best = direction === 'minimize' ? Math.min(best, iv.value) : Math.max(best, iv.value);
      // For maximisation the mirror percentile: the median stays the median.
      const threshold = percentileOf(others, direction === 'minimize' ? q : 100 - q);
      return direction === 'minimize' ? best > threshold : best < threshold;
    },
  };
}
