// tune(): the one orchestration in-process and job trials share. What it adds to the study: the
// fixed params under the sampled ones, the best trial's settled params, counts and the finish.
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import { float, TrialPruned, tune } from '../../../src/training/tuning/index.js';

const space = { x: float(-2, 2) };

describe('tune', () => {
  it('hands each trial the base params under the sampled ones, and refits with what the best settled', async () => {
    const seen: Record<string, unknown>[] = [];
    const done: number[] = [];
    const result = await tune({
      space,
      nTrials: 6,
      sampler: 'random',
      seed: 3,
      concurrency: 2,
      baseParams: { x: 'overridden', rounds: 100 },
      runTrial: async (params, trial) => {
        seen.push(params);
        return { value: ((params.x as number) - 0.5) ** 2, settled: { rounds: trial.number + 1 } };
      },
      onTrialComplete: (_t, n) => {
        done.push(n);
      },
    });
    expect(seen.every((p) => typeof p.x === 'number' && p.rounds === 100)).toBe(true);
    expect(done).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.counts).toEqual({ complete: 6, pruned: 0, failed: 0 });
    const best = result.trials.reduce((a, b) => ((b.value as number) < (a.value as number) ? b : a));
    expect(result.best.number).toBe(best.number);
    expect(result.bestParams).toEqual({ x: best.params.x, rounds: best.number + 1 });
  });

  it('counts pruned and failed trials, and refuses a study without a complete one', async () => {
    const mixed = await tune({
      space,
      nTrials: 3,
      seed: 0,
      concurrency: 1,
      runTrial: async (_p, trial) => {
        if (trial.number === 0) throw new TrialPruned();
        if (trial.number === 1) throw new Error('no');
        return { value: 1 };
      },
    });
    expect(mixed.counts).toEqual({ complete: 1, pruned: 1, failed: 1 });
    const err = await tune({
      space,
      nTrials: 2,
      seed: 0,
      concurrency: 1,
      runTrial: async () => {
        throw new TrialPruned();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FalajError);
    expect((err as FalajError).code).toBe('FALAJ_INVALID_ARGUMENT');
  });
});
