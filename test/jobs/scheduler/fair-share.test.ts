import { describe, expect, it } from 'vitest';
import { accrueUsage, currentShares } from '../../../src/jobs/scheduler/index.js';
import { type SimJob, Simulation } from '../../../src/jobs/scheduler/simulation.js';
import { Random } from '../../../src/training/random.js';
import { GiB, gpuNode, project, queue, range, running } from './helpers.js';

describe('usage history', () => {
  it('is an exponential moving average of the dominant share with the given half-life', () => {
    const shares = [{ queue: 'q', project: 'a', weight: 1, dominantShare: 0.5, usage: {} }];
    const h1 = accrueUsage(undefined, shares, 3600, 3600);
    expect(h1).toEqual({ q: { a: 0.25 } });
    const h2 = accrueUsage(h1, [{ ...(shares[0] as (typeof shares)[0]), dominantShare: 0 }], 7200, 3600);
    expect(h2.q?.a).toBeCloseTo(0.0625, 12);
    expect(() => accrueUsage(h1, shares, -1)).toThrow(
      expect.objectContaining({ code: 'FALAJ_INVALID_ARGUMENT' }),
    );
  });

  it('reports each project’s dominant share of the cluster', () => {
    const config = queue([project('a', { h100: { nominal: 8 } }), project('b', { h100: { nominal: 8 } })]);
    const shares = currentShares(
      config,
      [gpuNode('n1'), gpuNode('n2')],
      [running('r', 'a', [{ nodeId: 'n1', gpus: range(4) }])],
    );
    expect(shares.map((s) => [s.project, s.dominantShare])).toEqual([
      ['a', 0.25],
      ['b', 0],
    ]);
    expect(shares[0]?.usage).toEqual({ cpu: 1, memory: GiB, 'gpu:h100': 4 });
  });
});

describe('fair share over time', () => {
  it('brings each busy project within 5% of its weight, even with job sizes that differ by project', () => {
    // Project a only runs 8-GPU jobs, b 1-GPU jobs, c 2-GPU jobs; weights 1 : 1 : 2.
    const weights = { a: 1, b: 1, c: 2 } as const;
    const sizes = { a: 8, b: 1, c: 2 } as const;
    const config = queue(
      (['a', 'b', 'c'] as const).map((p) => project(p, { h100: { nominal: 48 } }, { weight: weights[p] })),
    );
    const nodes = range(6).map((i) => gpuNode(`n${i}`));
    const sim = new Simulation({ config, nodes, stepSeconds: 60 });
    const rng = new Random(11);
    let n = 0;
    const job = (p: 'a' | 'b' | 'c'): SimJob => {
      const duration = 300 + rng.int(3300);
      return {
        id: `j${String(n++).padStart(6, '0')}`,
        queue: 'q',
        project: p,
        submittedAt: sim.now,
        resources: { cpu: 1, memory: GiB, gpu: sizes[p], gpuType: 'h100' },
        maxRuntimeSeconds: duration,
        durationSeconds: duration,
      };
    };
    const hours = 12;
    let before = new Map<string, number>();
    for (let step = 0; step < hours * 60; step++) {
      for (const p of ['a', 'b', 'c'] as const) {
        for (let k = sim.pendingOf(p); k < 30; k++) sim.submit([job(p)]);
      }
      sim.step();
      if (step === 59) before = new Map(sim.stats.shareSeconds);
    }
    const got = (['a', 'b', 'c'] as const).map(
      (p) => (sim.stats.shareSeconds.get(`q/${p}`) ?? 0) - (before.get(`q/${p}`) ?? 0),
    );
    const total = got.reduce((x, y) => x + y, 0);
    (['a', 'b', 'c'] as const).forEach((p, i) => {
      const share = (got[i] as number) / total;
      const want = weights[p] / 4;
      expect(Math.abs(share - want) / want, `${p}: ${share} vs ${want}`).toBeLessThan(0.05);
    });
    // The cluster was kept busy while doing it.
    expect(sim.stats.allocatedGpuSeconds / sim.stats.usableGpuSeconds).toBeGreaterThan(0.9);
  });
});
