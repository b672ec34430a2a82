// The contract between the study and a pruner.
import type { Direction, IntermediateValue, TrialRecord } from '../trial.js';

export interface PruneContext {
  readonly direction: Direction;
  readonly trialNumber: number;
  /** This trial's reports so far, sorted by step (the last one is the newest step). */
  readonly intermediateValues: readonly IntermediateValue[];
  /**
   * The finished trials this trial is judged against: the same deterministic snapshot the sampler
   * saw, so a decision depends only on reported values, never on timing.
   */
  readonly history: readonly TrialRecord[];
}

export interface Pruner {
  readonly name: string;
  shouldPrune(ctx: PruneContext): boolean;
}

/** Never prunes. */
export function noPruner(): Pruner {
  return { name: 'none', shouldPrune: () => false };
}

const stepMaps = new WeakMap<TrialRecord, Map<number, number>>();

/** step → value of a finished trial, cached (finished records never change). */
export function stepMap(t: TrialRecord): Map<number, number> {
  let m = stepMaps.get(t);
  if (m === undefined) {
    m = new Map(t.intermediateValues.map((iv) => [iv.step, iv.value]));
    stepMaps.set(t, m);
  }
  return m;
}
