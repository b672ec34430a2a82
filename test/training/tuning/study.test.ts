import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FalajError } from '../../../src/core/errors.js';
import {
  categorical,
  createStudy,
  float,
  int,
  type Objective,
  type Sampler,
  type StudyOptions,
  type TrialRecord,
} from '../../../src/training/tuning/index.js';

const space = {
  booster: categorical(['gbdt', 'linear']),
  leaves: int(2, 64, { log: true, when: { booster: 'gbdt' } }),
  lr: float(1e-3, 1, { log: true }),
  l2: float(0, 1),
};

/**
 * A deterministic learning curve (value depends only on params and step) run with random delays,
 * so trials finish in a different order on every run.
 */
const curveObjective: Objective = async (trial) => {
  const p = trial.params;
  const target =
    (p.booster === 'gbdt' ? 0 : 0.3) + (Math.log10(p.lr as number) + 1.5) ** 2 + (p.l2 as number) * 0.2;
  let value = 0;
  for (let step = 1; step <= 9; step++) {
    value = target + 1 / step;
    trial.report(step, value);
    await sleep(Math.random() * 3);
    trial.pruneIfNeeded();
  }
  return value;
};

function stripped(trials: TrialRecord[]) {
  return trials.map(({ durationMs: _d, ...rest }) => rest);
}

async function run(options: Partial<StudyOptions>, nTrials: number, objective = curveObjective) {
  const study = createStudy({ space, direction: 'minimize', seed: 11, ...options });
  await study.optimize(objective, { nTrials });
  return study;
}

describe('study', () => {
  it('the same seed reproduces the study exactly with parallelism 1', async () => {
    const a = await run({ pruner: 'median' }, 30);
    const b = await run({ pruner: 'median' }, 30);
    expect(stripped(b.trials)).toEqual(stripped(a.trials));
    expect(a.trials.some((t) => t.state === 'pruned')).toBe(true);
    const c = await run({ pruner: 'median', seed: 12 }, 30);
    expect(stripped(c.trials)).not.toEqual(stripped(a.trials));
  });

  it.each([
    ['median', { type: 'median' as const }],
    ['successive halving', { type: 'successive-halving' as const, minResource: 1, reductionFactor: 3 }],
  ])('the same seed reproduces the study exactly with parallelism 3 (%s pruner)', async (_name, pruner) => {
    const a = await run({ pruner, parallelism: 3 }, 30);
    const b = await run({ pruner, parallelism: 3 }, 30);
    expect(stripped(b.trials)).toEqual(stripped(a.trials));
    expect(a.trials.filter((t) => t.state === 'pruned').length).toBeGreaterThan(3);
    expect(a.trials.filter((t) => t.state === 'complete').length).toBeGreaterThan(3);
  });

  it('samples trial n from exactly the trials numbered ≤ n − parallelism', async () => {
    const seen: number[][] = [];
    const sampler: Sampler = {
      name: 'spy',
      bind: () => ({
        capacity: undefined,
        sample: (ctx) => {
          seen[ctx.trialNumber] = ctx.history.map((t) => t.number);
          expect(ctx.history.every((t) => t.state !== 'running')).toBe(true);
          return { x: 0 };
        },
      }),
    };
    const study = createStudy({ space: { x: int(0, 1) }, direction: 'minimize', parallelism: 3, sampler });
    // Later trials finish first, which must not change what anyone sees.
    await study.optimize((t) => sleep(10 - t.number).then(() => 1), { nTrials: 7 });
    expect(seen).toEqual([[], [], [], [0], [0, 1], [0, 1, 2], [0, 1, 2, 3]]);
    // A second call sees everything from the first.
    await study.optimize(() => 1, { nTrials: 2 });
    expect(seen[7]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(seen[8]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('runs up to parallelism trials at once, never more', async () => {
    let running = 0;
    let peak = 0;
    const study = createStudy({ space, direction: 'minimize', parallelism: 3, sampler: 'random' });
    await study.optimize(
      async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(5);
        running--;
        return 1;
      },
      { nTrials: 12 },
    );
    expect(peak).toBe(3);
    expect(study.trials.map((t) => t.number)).toEqual([...Array(12).keys()]);
  });

  it('records failed trials with their message and goes on; NaN is a failure', async () => {
    const study = createStudy({ space: { x: int(0, 9) }, direction: 'maximize', sampler: 'grid' });
    const result = await study.optimize(
      (trial) => {
        const x = trial.params.x as number;
        if (x % 3 === 0) throw new Error(`x=${x} is unlucky`);
        if (x === 4) return Number.NaN;
        return x;
      },
      { nTrials: 10 },
    );
    const byX = new Map(study.trials.map((t) => [t.params.x, t]));
    expect(byX.get(3)).toMatchObject({ state: 'failed', value: null, error: 'x=3 is unlucky' });
    expect(byX.get(4)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/NaN, not a finite number/),
    });
    expect(byX.get(8)).toMatchObject({ state: 'complete', value: 8 });
    expect(result.bestTrial?.params).toEqual({ x: 8 });
    expect(study.trials.filter((t) => t.state === 'failed')).toHaveLength(5);
  });

  it('throws the first error when every trial fails, keeping the trials', async () => {
    const study = createStudy({ space, direction: 'minimize', parallelism: 2 });
    const boom = new FalajError('FALAJ_DATA_INVALID', 'column y is missing');
    await expect(
      study.optimize(
        () => {
          throw boom;
        },
        { nTrials: 4 },
      ),
    ).rejects.toBe(boom);
    expect(study.trials.map((t) => t.state)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(study.bestTrial).toBeUndefined();
  });

  it('a bad report fails the trial with a message naming the problem', async () => {
    const study = createStudy({ space, direction: 'minimize' });
    await study.optimize(
      (trial) => {
        if (trial.number === 0) {
          trial.report(5, 1);
          trial.report(3, 1);
        }
        if (trial.number === 1) trial.report(1, Number.POSITIVE_INFINITY);
        return 1;
      },
      { nTrials: 3 },
    );
    const [t0, t1, t2] = study.trials;
    expect(t0!.error).toMatch(/step 3 was reported after step 5/);
    expect(t1!.error).toMatch(/finite number/);
    expect(t2!.state).toBe('complete');
  });

  it('stops starting trials when the signal fires and awaits the running ones', async () => {
    const controller = new AbortController();
    const study = createStudy({ space, direction: 'minimize', parallelism: 2 });
    const result = await study.optimize(
      async (trial) => {
        await sleep(2);
        if (trial.number === 3) controller.abort();
        return trial.number;
      },
      { nTrials: 50, signal: controller.signal },
    );
    expect(result.stoppedBy).toBe('signal');
    expect(study.trials.length).toBeLessThanOrEqual(5);
    expect(study.trials.every((t) => t.state === 'complete')).toBe(true);
  });

  it('calls onTrialComplete with each finished trial; a throwing callback stops the study', async () => {
    const seen: number[] = [];
    const study = createStudy({ space, direction: 'minimize' });
    await study.optimize(() => 1, { nTrials: 4, onTrialComplete: (t) => void seen.push(t.number) });
    expect(seen).toEqual([0, 1, 2, 3]);
    await expect(
      study.optimize(() => 1, {
        nTrials: 10,
        onTrialComplete: (t) => {
          if (t.number === 5) throw new Error('tracking is down');
        },
      }),
    ).rejects.toThrow('tracking is down');
    expect(study.trials).toHaveLength(6);
  });

  it('numbers trials across optimize calls, refuses concurrent calls, and serialises to JSON', async () => {
    const study = createStudy({ space, direction: 'minimize', seed: 5 });
    await study.optimize((t) => t.number, { nTrials: 2 });
    const first = study.optimize(async (t) => t.number, { nTrials: 2 });
    await expect(study.optimize(() => 0, { nTrials: 1 })).rejects.toMatchObject({ code: 'FALAJ_CONFLICT' });
    await first;
    expect(study.trials.map((t) => t.number)).toEqual([0, 1, 2, 3]);
    const json = JSON.parse(JSON.stringify(study));
    expect(json.trials).toEqual(study.trials);
    expect(json).toMatchObject({ direction: 'minimize', seed: 5, sampler: 'tpe', pruner: 'none' });
    expect(json.bestTrial.number).toBe(0);
    // Every trial has its own seed for the objective's randomness.
    expect(new Set(study.trials.map((t) => t.seed)).size).toBe(4);
  });

  it('validates its options, naming them', () => {
    const bad = (o: Partial<StudyOptions>) => () => createStudy({ space, direction: 'minimize', ...o });
    expect(bad({ parallelism: 0 })).toThrow(/parallelism/);
    expect(bad({ direction: 'up' as 'minimize' })).toThrow(/direction/);
    expect(bad({ seed: 1.5 })).toThrow(/seed/);
    expect(bad({ sampler: { type: 'tpe', nStartupTrials: -1 } })).toThrow(/nStartupTrials/);
    expect(bad({ sampler: 'annealing' as 'tpe' })).toThrow(/unknown sampler/);
    expect(bad({ space: { a: int(3, 1) } })).toThrow(/impossible search space: parameter 'a'/);
    const study = createStudy({ space, direction: 'minimize' });
    return expect(study.optimize(() => 1, { nTrials: -1 })).rejects.toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
      details: { parameter: 'nTrials' },
    });
  });
});
