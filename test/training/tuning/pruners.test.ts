import { describe, expect, it } from 'vitest';
import {
  createPruner,
  createStudy,
  float,
  type IntermediateValue,
  medianPruner,
  type Pruner,
  successiveHalvingPruner,
  TrialPruned,
  type TrialRecord,
} from '../../../src/training/tuning/index.js';
import { rungValues } from '../../../src/training/tuning/pruners/successive-halving.js';

function curve(values: number[], start = 1): IntermediateValue[] {
  return values.map((value, i) => ({ step: start + i, value }));
}

function finished(number: number, values: number[], state: TrialRecord['state'] = 'complete'): TrialRecord {
  const ivs = curve(values);
  return {
    number,
    params: {},
    state,
    value: ivs[ivs.length - 1]?.value ?? null,
    intermediateValues: ivs,
    durationMs: 0,
    seed: 0,
  };
}

function ask(
  pruner: Pruner,
  values: number[],
  history: TrialRecord[],
  direction: 'minimize' | 'maximize' = 'minimize',
) {
  return pruner.shouldPrune({
    direction,
    trialNumber: history.length,
    intermediateValues: curve(values),
    history,
  });
}

describe('median pruner', () => {
  // Five complete trials; at step 2 their values are 5, 4, 3, 2, 1 (median 3).
  const history = [5, 4, 3, 2, 1].map((v, i) => finished(i, [10, v, 0]));

  it('prunes a trial whose best value so far is worse than the median at the same step', () => {
    const pruner = medianPruner();
    expect(ask(pruner, [10, 3.5], history)).toBe(true);
    expect(ask(pruner, [10, 2.5], history)).toBe(false);
    expect(ask(pruner, [10, 3], history)).toBe(false); // equal to the median is not worse
    // The best so far counts, not the latest: an earlier 2 saves a later 9.
    expect(ask(pruner, [2, 9], history)).toBe(false);
  });

  it('mirrors for maximisation', () => {
    const pruner = medianPruner();
    expect(ask(pruner, [0, 2.5], history, 'maximize')).toBe(true);
    expect(ask(pruner, [0, 3.5], history, 'maximize')).toBe(false);
  });

  it('waits for nStartupTrials complete trials and nWarmupSteps, ignoring pruned and failed ones', () => {
    const four = history.slice(0, 4);
    expect(ask(medianPruner(), [10, 100], four)).toBe(false);
    expect(ask(medianPruner(), [10, 100], [...four, finished(4, [10, 1], 'pruned')])).toBe(false);
    expect(ask(medianPruner({ nStartupTrials: 4 }), [10, 100], four)).toBe(true);
    expect(ask(medianPruner({ nWarmupSteps: 3 }), [10, 100], history)).toBe(false);
    // No other trial reported step 7: nothing to compare with.
    expect(ask(medianPruner(), [10, 10, 10, 10, 10, 10, 100], history)).toBe(false);
  });

  it('judges only the first report in each interval', () => {
    const long = [0, 1, 2, 3, 4].map((i) =>
      finished(
        i,
        Array.from({ length: 10 }, () => i),
      ),
    );
    const pruner = medianPruner({ intervalSteps: 4 });
    // Steps 1..4 then 5: step 5 is not the first report at/after a pruning point (4) since 4 was.
    expect(ask(pruner, [9, 9, 9, 9, 9], long)).toBe(false);
    expect(ask(pruner, [9, 9, 9, 9], long)).toBe(true); // step 4 is a pruning point
  });

  it('takes the median over an even count by interpolation', () => {
    const even = [1, 2, 3, 4, 5, 6].map((v, i) => finished(i, [v]));
    expect(ask(medianPruner(), [3.6], even)).toBe(true);
    expect(ask(medianPruner(), [3.4], even)).toBe(false);
  });
});

describe('successive halving pruner', () => {
  it('places rungs at minResource · η^(s + k) and reads the first report at or past each', () => {
    const rung = (k: number) => 2 * 3 ** k; // 2, 6, 18
    const values = Array.from({ length: 20 }, (_, i) => 100 - i); // step s has value 101 - s
    expect(rungValues(curve(values), rung)).toEqual([99, 95, 83]);
    // Reports every 5 steps: rung 2 → step 5, rung 6 → step 10, rung 18 → step 20.
    const sparse = [5, 10, 15, 20].map((step) => ({ step, value: step }));
    expect(rungValues(sparse, rung)).toEqual([5, 10, 20]);
  });

  it('promotes only the top 1/η of the trials at a rung (itself included)', () => {
    const pruner = successiveHalvingPruner({ minResource: 1, reductionFactor: 3 });
    // Seven finished trials reached rung 0 (step 1) with values 1..7; three reached rung 1 (step 3).
    const history = [1, 2, 3, 4, 5, 6, 7].map((v, i) => finished(i, i < 3 ? [v, v, v - 0.5, v - 0.5] : [v]));
    // 8 competitors at rung 0 → the best ⌊8/3⌋ = 2 pass: values ≤ 2.
    expect(ask(pruner, [1.5], history)).toBe(false);
    expect(ask(pruner, [2], history)).toBe(false);
    expect(ask(pruner, [2.5], history)).toBe(true);
    // A trial good at rung 0 but not at rung 1 (4 competitors there: 0.5, 1.5, 2.5 and itself → best 1).
    expect(ask(pruner, [0.1, 0.1, 1.0], history)).toBe(true);
    expect(ask(pruner, [0.1, 0.1, 0.4], history)).toBe(false);
    // Between rungs nothing new is judged.
    expect(ask(pruner, [0.1, 0.1, 0.4, 9], history)).toBe(false);
  });

  it('promotes the best-so-far while a rung has fewer than η trials, and mirrors for maximisation', () => {
    const pruner = successiveHalvingPruner({ minResource: 2, reductionFactor: 4 });
    expect(ask(pruner, [0, 7], [])).toBe(false); // the first at a rung always goes on
    const one = [finished(0, [0, 5])];
    expect(ask(pruner, [0, 6], one)).toBe(true);
    expect(ask(pruner, [0, 4], one)).toBe(false);
    expect(ask(pruner, [0, 6], one, 'maximize')).toBe(false);
    expect(ask(pruner, [0, 4], one, 'maximize')).toBe(true);
    // Nothing before the first rung.
    expect(ask(pruner, [100], one)).toBe(false);
  });

  it('minEarlyStoppingRate shifts the first rung', () => {
    const pruner = successiveHalvingPruner({ minResource: 1, reductionFactor: 2, minEarlyStoppingRate: 2 });
    const one = [finished(0, [0, 0, 0, 0, 0])];
    expect(ask(pruner, [9, 9, 9], one)).toBe(false); // first rung at 1 · 2² = 4
    expect(ask(pruner, [9, 9, 9, 9], one)).toBe(true);
  });

  it('rejects impossible options naming them', () => {
    expect(() => successiveHalvingPruner({ reductionFactor: 1 })).toThrow(/reductionFactor/);
    expect(() => createPruner({ type: 'median', nStartupTrials: -1 })).toThrow(/nStartupTrials/);
    expect(() => createPruner({ type: 'asha', foo: 1 })).toThrow(/unknown option 'foo'/);
    expect(() => createPruner({ type: 'hyperband' })).toThrow(/unknown pruner/);
  });
});

describe('pruning inside a study', () => {
  it('records pruned trials with their curves and the last value, and cuts the resource spent', async () => {
    const study = createStudy({
      space: { q: float(0, 1) },
      sampler: { type: 'random' },
      pruner: { type: 'successive-halving', minResource: 1, reductionFactor: 3 },
      direction: 'minimize',
      seed: 4,
    });
    let spent = 0;
    await study.optimize(
      async (trial) => {
        const q = trial.params.q as number;
        let v = 0;
        for (let step = 1; step <= 27; step++) {
          spent++;
          v = q + 1 / step;
          trial.report(step, v);
          trial.pruneIfNeeded();
        }
        return v;
      },
      { nTrials: 30 },
    );
    const trials = study.trials;
    const pruned = trials.filter((t) => t.state === 'pruned');
    expect(pruned.length).toBeGreaterThan(10);
    for (const t of pruned) {
      expect(t.value).toBe(t.intermediateValues.at(-1)!.value);
      expect([1, 3, 9, 27]).toContain(t.intermediateValues.at(-1)!.step);
    }
    expect(spent).toBeLessThan((30 * 27) / 2);
    // The best trial has the smallest q among the complete ones, and completes.
    const complete = trials.filter((t) => t.state === 'complete');
    expect(study.bestTrial!.params.q).toBe(Math.min(...complete.map((t) => t.params.q as number)));
  });

  it('an objective may throw TrialPruned itself', async () => {
    const study = createStudy({ space: { q: float(0, 1) }, direction: 'minimize', sampler: 'random' });
    await study.optimize(
      (trial) => {
        trial.report(0, 1);
        throw new TrialPruned();
      },
      { nTrials: 2 },
    );
    expect(study.trials.map((t) => [t.state, t.value])).toEqual([
      ['pruned', 1],
      ['pruned', 1],
    ]);
    expect(study.bestTrial).toBeUndefined();
  });
});
