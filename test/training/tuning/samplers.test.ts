import { describe, expect, it } from 'vitest';
import type { FalajError } from '../../../src/core/errors.js';
import { Random } from '../../../src/training/random.js';
import {
  categorical,
  compileSpace,
  createStudy,
  defaultGamma,
  float,
  gridSampler,
  int,
  type Params,
  randomSampler,
  type Sampler,
  type SearchSpace,
  splitTrials,
  type TrialRecord,
  tpeSampler,
} from '../../../src/training/tuning/index.js';
import { NumericParzen } from '../../../src/training/tuning/samplers/parzen.js';

function draw(sampler: Sampler, space: SearchSpace, n: number, history: TrialRecord[] = []): Params[] {
  const compiled = compileSpace(space);
  const bound = sampler.bind(compiled, 1);
  return Array.from({ length: n }, (_, i) =>
    bound.sample({
      space: compiled,
      trialNumber: i,
      history,
      direction: 'minimize',
      random: new Random(100 + i),
    }),
  );
}

function record(
  number: number,
  params: Params,
  value: number,
  state: TrialRecord['state'] = 'complete',
): TrialRecord {
  return { number, params, state, value, intermediateValues: [], durationMs: 0, seed: 0 };
}

describe('random sampler', () => {
  it('respects bounds, integers, steps and log scale', () => {
    const samples = draw(
      randomSampler(),
      {
        n: int(3, 7),
        s: int(0, 20, { step: 5 }),
        f: float(0.5, 0.75),
        q: float(0, 1, { step: 0.1 }),
        lr: float(1e-4, 1, { log: true }),
        c: categorical(['a', 'b', null]),
      },
      4000,
    );
    const ns = new Set(samples.map((p) => p.n));
    expect([...ns].sort()).toEqual([3, 4, 5, 6, 7]);
    expect(new Set(samples.map((p) => p.s))).toEqual(new Set([0, 5, 10, 15, 20]));
    for (const p of samples) {
      expect(p.f).toBeGreaterThanOrEqual(0.5);
      expect(p.f).toBeLessThanOrEqual(0.75);
      expect(Math.round((p.q as number) * 10) / 10).toBe(p.q);
      expect(['a', 'b', null]).toContain(p.c);
    }
    // Every integer equally likely, ends included (the half-step widening).
    const count3 = samples.filter((p) => p.n === 3).length;
    const count5 = samples.filter((p) => p.n === 5).length;
    expect(Math.abs(count3 - count5)).toBeLessThan(200);
    // Log-uniform: each decade of [1e-4, 1] gets about a quarter.
    const decade = samples.filter((p) => (p.lr as number) < 1e-3).length / samples.length;
    expect(decade).toBeGreaterThan(0.2);
    expect(decade).toBeLessThan(0.3);
  });

  it('leaves inactive conditional parameters out', () => {
    const samples = draw(
      randomSampler(),
      {
        booster: categorical(['gbdt', 'linear']),
        maxLeaves: int(8, 256, { log: true, when: { booster: 'gbdt' } }),
        l1: float(0, 1, { when: { booster: 'linear' } }),
      },
      200,
    );
    for (const p of samples) {
      if (p.booster === 'gbdt') expect(Object.keys(p).sort()).toEqual(['booster', 'maxLeaves']);
      else expect(Object.keys(p).sort()).toEqual(['booster', 'l1']);
    }
    expect(samples.some((p) => p.booster === 'gbdt') && samples.some((p) => p.booster === 'linear')).toBe(
      true,
    );
  });
});

describe('grid sampler', () => {
  it('enumerates exactly the product of the values', () => {
    const space = { a: categorical(['x', 'y', 'z']), b: int(1, 4), c: float(0, 1) };
    const compiled = compileSpace(space);
    // Points apply to the float only; the int contributes every value.
    const bound = gridSampler({ points: { c: 3 } }).bind(compiled, 0);
    expect(bound.capacity).toBe(3 * 4 * 3);
    expect(gridSampler({ points: 3 }).bind(compiled, 0).capacity).toBe(3 * 3 * 3);
    const points = draw(gridSampler({ points: { c: 3 } }), space, 36);
    const keys = new Set(points.map((p) => JSON.stringify([p.a, p.b, p.c])));
    expect(keys.size).toBe(36);
    for (const a of ['x', 'y', 'z']) {
      for (const b of [1, 2, 3, 4])
        for (const c of [0, 0.5, 1]) expect(keys.has(JSON.stringify([a, b, c]))).toBe(true);
    }
  });

  it('takes explicit values, log-spaced points and counts conditionals only where active', () => {
    const space = {
      booster: categorical(['gbdt', 'linear']),
      leaves: int(8, 256, { log: true, when: { booster: 'gbdt' } }),
      lr: float(0.001, 0.1, { log: true }),
    };
    const points = draw(gridSampler({ points: { leaves: 3 }, values: { lr: [0.001, 0.01] } }), space, 8);
    // gbdt: 3 leaves × 2 lr, linear: 2 lr.
    expect(points.map((p) => [p.booster, p.leaves, p.lr])).toEqual([
      ['gbdt', 8, 0.001],
      ['gbdt', 8, 0.01],
      ['gbdt', 45, 0.001],
      ['gbdt', 45, 0.01],
      ['gbdt', 256, 0.001],
      ['gbdt', 256, 0.01],
      ['linear', undefined, 0.001],
      ['linear', undefined, 0.01],
    ]);
    expect(points[6]).not.toHaveProperty('leaves');
  });

  it('refuses an infinite, empty or illegal grid naming the parameter', () => {
    const space = compileSpace({ a: int(1, 3), c: float(0, 1) });
    const err = (fn: () => unknown): FalajError => {
      try {
        fn();
      } catch (e) {
        return e as FalajError;
      }
      throw new Error('expected a throw');
    };
    const infinite = err(() => gridSampler().bind(space, 0));
    expect(infinite.code).toBe('FALAJ_INVALID_ARGUMENT');
    expect(infinite.details).toMatchObject({ parameter: 'c' });
    expect(infinite.message).toMatch(/infinite/);
    expect(err(() => gridSampler({ points: 2, values: { a: [] } }).bind(space, 0)).details).toMatchObject({
      parameter: 'a',
    });
    expect(err(() => gridSampler({ points: 2, values: { a: [9] } }).bind(space, 0)).details).toMatchObject({
      parameter: 'a',
    });
    expect(err(() => gridSampler({ points: 2, values: { zz: [1] } }).bind(space, 0)).details).toMatchObject({
      parameter: 'zz',
    });
    expect(err(() => gridSampler({ points: 0 }).bind(space, 0)).details).toMatchObject({ parameter: 'a' });
  });

  it('a study over a grid stops when the grid is exhausted', async () => {
    const study = createStudy({
      space: { a: categorical([1, 2]), b: categorical(['u', 'v', 'w']) },
      sampler: { type: 'grid' },
      direction: 'minimize',
    });
    const result = await study.optimize((t) => (t.params.a as number) + (t.params.b === 'v' ? 0 : 1), {
      nTrials: 50,
    });
    expect(result.stoppedBy).toBe('grid-exhausted');
    expect(study.trials).toHaveLength(6);
    expect(study.bestTrial?.params).toEqual({ a: 1, b: 'v' });
  });
});

describe('TPE', () => {
  it('splits good and bad by gamma(n) = min(ceil(0.1 n), 25)', () => {
    for (const n of [1, 9, 10, 11, 57, 100, 249, 250, 251, 400]) {
      const trials = Array.from({ length: n }, (_, i) => record(i, { x: i }, (i * 7919) % n));
      const { good, bad } = splitTrials(trials, 'minimize', defaultGamma(n));
      expect(good.length).toBe(Math.min(Math.ceil(0.1 * n), 25));
      expect(good.length + bad.length).toBe(n);
      const worstGood = Math.max(...good.map((t) => t.value!));
      expect(bad.every((t) => t.value! >= worstGood)).toBe(true);
    }
    // Maximising flips the ranking; pruned trials rank after complete ones.
    const trials = [record(0, {}, 1), record(1, {}, 3), record(2, {}, 9, 'pruned'), record(3, {}, 2)];
    expect(splitTrials(trials, 'maximize', 2).good.map((t) => t.number)).toEqual([1, 3]);
    expect(splitTrials(trials, 'maximize', 4).good.map((t) => t.number)).toEqual([0, 1, 2, 3]);
    expect(splitTrials(trials, 'minimize', 3).good.map((t) => t.number)).toEqual([0, 1, 3]);
  });

  it('calls gamma with the number of finished trials and samples uniformly during start-up', () => {
    const seen: number[] = [];
    const sampler = tpeSampler({
      nStartupTrials: 3,
      gamma: (n) => {
        seen.push(n);
        return 1;
      },
    });
    const space = { x: float(0, 1) };
    const history = [record(0, { x: 0.1 }, 1), record(1, { x: 0.2 }, 2), record(2, { x: 0.3 }, 0, 'failed')];
    draw(sampler, space, 1, history);
    expect(seen).toEqual([]); // two usable trials < 3 start-up trials (failed ones do not count)
    draw(sampler, space, 1, [...history, record(3, { x: 0.4 }, 3)]);
    expect(seen).toEqual([3]);
  });

  it('Parzen bandwidths follow the neighbour rule with the magic clip and a prior', () => {
    const options = {
      considerPrior: true,
      priorWeight: 1,
      considerMagicClip: true,
      considerEndpoints: false,
      weights: (n: number) => new Array<number>(n).fill(1),
    };
    const pe = new NumericParzen([0.1, 0.2, 0.9], 0, 1, options);
    // Sorted with the prior at 0.5: 0.1, 0.2, 0.5, 0.9. 0.1 is an end: its inner gap 0.1;
    // 0.2: max(0.1, 0.3); 0.9 is an end: 0.4. Clip below at 1/min(100, 1 + 4) = 0.2.
    expect(pe.sigmas.map((s) => Number(s.toFixed(12)))).toEqual([0.2, 0.3, 0.4, 1]);
    expect(pe.weights).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(pe.mus).toEqual([0.1, 0.2, 0.9, 0.5]);
    // A truncated density integrates to one over the range.
    let integral = 0;
    for (let i = 0; i < 10_000; i++) integral += Math.exp(pe.logLikelihood((i + 0.5) / 10_000)) / 10_000;
    expect(integral).toBeCloseTo(1, 3);
  });

  it('learns only from trials where a conditional parameter was active', () => {
    const space = {
      booster: categorical(['gbdt', 'linear']),
      leaves: int(2, 200, { when: { booster: 'gbdt' } }),
    };
    // The good gbdt trials all have few leaves; linear trials carry no leaves at all.
    const history: TrialRecord[] = [];
    for (let i = 0; i < 40; i++) {
      const gbdt = i % 2 === 0;
      const leaves = 2 + ((i * 37) % 199);
      history.push(
        record(i, gbdt ? { booster: 'gbdt', leaves } : { booster: 'linear' }, gbdt ? leaves : 500),
      );
    }
    const samples = draw(tpeSampler(), space, 100, history);
    const leaves = samples.filter((p) => p.booster === 'gbdt').map((p) => p.leaves as number);
    expect(samples.filter((p) => p.booster === 'gbdt').length).toBeGreaterThan(80);
    leaves.sort((a, b) => a - b);
    expect(leaves[Math.floor(leaves.length / 2)]).toBeLessThan(50);
    for (const p of samples) if (p.booster === 'linear') expect(p).not.toHaveProperty('leaves');
  });

  // A shifted quadratic in three dimensions (one on a log scale) plus a categorical offset.
  const space = {
    x: float(-5, 5),
    y: float(-5, 5),
    z: float(1e-3, 10, { log: true }),
    kind: categorical(['a', 'b', 'c', 'd']),
  };
  const objective = (p: Params): number =>
    ((p.x as number) - 1.3) ** 2 +
    ((p.y as number) + 2.1) ** 2 +
    (Math.log10(p.z as number) + 1) ** 2 +
    (p.kind === 'c' ? 0 : 2);

  async function bestOf(sampler: Sampler, seed: number, nTrials: number): Promise<number> {
    const study = createStudy({ space, sampler, direction: 'minimize', seed });
    await study.optimize((t) => objective(t.params), { nTrials });
    return study.bestTrial!.value!;
  }

  it('reaches a lower median best value than random search on the same budget', async () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7];
    const tpe: number[] = [];
    const rnd: number[] = [];
    for (const seed of seeds) {
      tpe.push(await bestOf(tpeSampler(), seed, 60));
      rnd.push(await bestOf(randomSampler(), seed, 60));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(median(tpe)).toBeLessThan(median(rnd));
    // Not by a whisker: TPE beats random on most seeds.
    expect(seeds.filter((_, i) => tpe[i]! < rnd[i]!).length).toBeGreaterThanOrEqual(5);
  });

  it('maximises too', async () => {
    const best = async (sampler: Sampler) => {
      const study = createStudy({ space, sampler, direction: 'maximize', seed: 3 });
      await study.optimize((t) => -objective(t.params), { nTrials: 60 });
      return study.bestTrial!.value!;
    };
    expect(await best(tpeSampler())).toBeGreaterThan(await best(randomSampler()));
  });
});
