// Asynchronous successive halving (Li et al. 2020, "A System for Massively Parallel
// Hyperparameter Tuning"), with the options of Optuna's SuccessiveHalvingPruner. Rung k sits at
// step minResource · η^(minEarlyStoppingRate + k), where steps count resource (boosting rounds,
// epochs). A trial that reaches a rung is promoted past it only if its value there is among the
// best ⌊n/η⌋ of the n trials that reached the rung (itself included; while n < η only the best
// one), otherwise it is pruned. Its value at a rung is the value it reported at the first step at
// or past the rung. The default η is 4, Optuna's (the ASHA paper uses 3 or 4).
import { FalajError } from '../../../core/errors.js';
import type { Direction, IntermediateValue, TrialRecord } from '../trial.js';
import { bestFirst } from '../trial.js';
import type { Pruner } from './pruner.js';

export interface SuccessiveHalvingOptions {
  /** Resource (step) of the first rung (default 1). */
  minResource?: number;
  /** η: the fraction 1/η of a rung is promoted (default 4). */
  reductionFactor?: number;
  /** s: shifts the first rung to minResource · η^s (default 0). */
  minEarlyStoppingRate?: number;
  /** A trial is pruned at a rung until more than this many trials reached it (default 0). */
  bootstrapCount?: number;
}

function check(name: string, v: number, min: number, integer = true): number {
  if ((integer && !Number.isInteger(v)) || !Number.isFinite(v) || v < min) {
    throw new FalajError(
      'FALAJ_INVALID_ARGUMENT',
      `successive halving pruner: ${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${v}`,
      { parameter: name },
    );
  }
  return v;
}

/** Value at each rung a curve reached (index = rung). */
export function rungValues(curve: readonly IntermediateValue[], rungStep: (k: number) => number): number[] {
  const out: number[] = [];
  let i = 0;
  for (let k = 0; ; k++) {
    const r = rungStep(k);
    while (i < curve.length && curve[i]!.step < r) i++;
    const iv = curve[i];
    if (iv === undefined) return out;
    out.push(iv.value);
  }
}

/** Whether `value` is among the best ⌊n/η⌋ (at least 1) of `competitors` (which include it). */
export function promotable(direction: Direction, value: number, competitors: number[], eta: number): boolean {
  const sorted = [...competitors].sort(bestFirst(direction));
  const idx = Math.max(0, Math.floor(sorted.length / eta) - 1);
  const cutoff = sorted[idx]!;
  return direction === 'minimize' ? value <= cutoff : value >= cutoff;
}

export function successiveHalvingPruner(options: SuccessiveHalvingOptions = {}): Pruner {
  const minResource = check('minResource', options.minResource ?? 1, Number.MIN_VALUE, false);
  const eta = check('reductionFactor', options.reductionFactor ?? 4, 2, false);
  const s = check('minEarlyStoppingRate', options.minEarlyStoppingRate ?? 0, 0);
  const bootstrap = check('bootstrapCount', options.bootstrapCount ?? 0, 0);
  const rungStep = (k: number) => minResource * eta ** (s + k);
  const cache = new WeakMap<TrialRecord, number[]>();
  const rungsOf = (t: TrialRecord): number[] => {
    let r = cache.get(t);
    if (r === undefined) {
      r = rungValues(t.intermediateValues, rungStep);
      cache.set(t, r);
    }
    return r;
  };
  return {
    name: 'successive-halving',
    shouldPrune({ direction, intermediateValues, history }) {
      // Judged afresh on every call against a fixed snapshot, so the decisions at earlier rungs
      // repeat and the outcome does not depend on how often the objective asks.
      const own = rungValues(intermediateValues, rungStep);
      if (own.length === 0) return false;
      const others = history.filter((t) => t.state === 'complete' || t.state === 'pruned').map(rungsOf);
      for (let k = 0; k < own.length; k++) {
        const competitors = [own[k]!];
        for (const r of others) if (r.length > k) competitors.push(r[k]!);
        if (competitors.length <= bootstrap) return true;
        if (!promotable(direction, own[k]!, competitors, eta)) return true;
      }
      return false;
    },
  };
}
