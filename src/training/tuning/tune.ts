// One tuning orchestration for every way a trial runs: fitted in this process (run-training.ts)
// or as a job on the server that this process waits for (falaj train --trial-jobs). The study
// asks the sampler, judges against the pruner and keeps every trial; this drives it for a
// loss to minimise and hands back what a caller refits with, so the two paths differ only in
// their `runTrial`.
import { FalajError } from '../../core/errors.js';
import { createStudy, type StudyOptions, type Trial } from './study.js';
import type { TrialRecord, TrialState } from './trial.js';

/** What one trial found. */
export interface TrialOutcome {
  /** The validation loss the study minimises. */
  value: number;
  /**
   * Parameters the trial settled itself while fitting (the rounds early stopping kept): part of
   * what it found, so the best trial's are refitted with.
   */
  settled?: Record<string, unknown>;
}

/**
 * Runs one trial with `params` (the fixed ones under the sampled ones). A trial that fits in
 * rounds reports each round's loss through `trial.report` and stops when `trial.shouldPrune()`;
 * a trial run elsewhere just waits for its value (nothing to prune).
 */
export type RunTrial = (params: Record<string, unknown>, trial: Trial) => Promise<TrialOutcome>;

export interface TuneOptions {
  /** A SearchSpace, or the same as JSON. */
  space: StudyOptions['space'];
  nTrials: number;
  sampler?: StudyOptions['sampler'];
  pruner?: StudyOptions['pruner'];
  seed: number;
  /** Trials at once (the study stays reproducible for a given concurrency). */
  concurrency: number;
  /** Parameters every trial starts from; the sampled ones go on top. */
  baseParams?: Record<string, unknown>;
  runTrial: RunTrial;
  /** Called as each trial finishes, with how many have finished so far; awaited. */
  onTrialComplete?: (trial: TrialRecord, done: number) => void | Promise<void>;
}

export interface TuneResult {
  trials: TrialRecord[];
  best: TrialRecord;
  /** The best trial's sampled params and what it settled: what to refit with. */
  bestParams: Record<string, unknown>;
  counts: Record<Exclude<TrialState, 'running'>, number>;
}

/**
 * Runs a study of `nTrials` trials, `concurrency` at once. A failing trial is recorded and the
 * study goes on (if all fail, the first failure is thrown); a study without any complete trial
 * is FALAJ_INVALID_ARGUMENT.
 */
export async function tune(o: TuneOptions): Promise<TuneResult> {
  const study = createStudy({
    space: o.space,
    direction: 'minimize',
    ...(o.sampler !== undefined ? { sampler: o.sampler } : {}),
    ...(o.pruner !== undefined ? { pruner: o.pruner } : {}),
    seed: o.seed,
    parallelism: o.concurrency,
  });
  const settledBy = new Map<number, Record<string, unknown>>();
  let done = 0;
  const result = await study.optimize(
    async (trial) => {
      const outcome = await o.runTrial({ ...o.baseParams, ...trial.params }, trial);
      if (outcome.settled) settledBy.set(trial.number, outcome.settled);
      return outcome.value;
    },
    { nTrials: o.nTrials, onTrialComplete: (t) => o.onTrialComplete?.(t, ++done) },
  );
  const best = result.bestTrial;
  if (!best)
    throw new FalajError('FALAJ_INVALID_ARGUMENT', 'tuning finished without a complete trial', {
      trials: result.trials.length,
    });
  const count = (s: TrialState) => result.trials.filter((t) => t.state === s).length;
  return {
    trials: result.trials,
    best,
    bestParams: { ...best.params, ...settledBy.get(best.number) },
    counts: { complete: count('complete'), pruned: count('pruned'), failed: count('failed') },
  };
}
