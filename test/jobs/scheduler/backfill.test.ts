import { describe, expect, it } from 'vitest';
import type { SchedulerConfig } from '../../../src/jobs/scheduler/index.js';
import { Simulation } from '../../../src/jobs/scheduler/simulation.js';
import { scenario } from './random-scenario.js';

// Backfill must never delay the head: in a step simulation where every job runs exactly its
// time limit, the first job that cannot start is admitted no later with BestEffortFIFO (later
// jobs backfilled around its reservation) than with StrictFIFO (nothing passes it).
function strict(config: SchedulerConfig): SchedulerConfig {
  return {
    ...config,
    queues: config.queues.map((q) => ({
      ...q,
      projects: q.projects.map((p) => ({ ...p, queueingStrategy: 'StrictFIFO' as const })),
    })),
  };
}

describe('backfill', () => {
  it('never delays the head, on 60 random scenarios, and does start jobs early', () => {
    let backfilled = 0;
    let compared = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const sc = scenario(seed, { single: true, exactRuntimes: true, gpuOnly: true, jobs: 40 });
      const withBackfill = new Simulation({ config: sc.config, nodes: sc.nodes, stepSeconds: 60 });
      const without = new Simulation({ config: strict(sc.config), nodes: sc.nodes, stepSeconds: 60 });
      withBackfill.submit(sc.jobs);
      without.submit(sc.jobs);
      const first = without.step();
      const firstB = withBackfill.step();
      const heads = first.pending.filter((v) => !v.impossible && v.kind !== 'fifo');
      if (heads.length === 0) continue; // everything fitted at once
      expect(heads).toHaveLength(1);
      const head = (heads[0] as { jobId: string }).jobId;
      expect(firstB.admissions.map((a) => a.jobId)).not.toContain(head);
      backfilled += firstB.admissions.length - first.admissions.length;
      for (let i = 0; i < 2000 && !without.stats.admittedAt.has(head); i++) without.step();
      for (let i = 0; i < 2000 && !withBackfill.stats.admittedAt.has(head); i++) withBackfill.step();
      const tStrict = without.stats.admittedAt.get(head);
      const tBackfill = withBackfill.stats.admittedAt.get(head);
      expect(tStrict).toBeDefined();
      expect(tBackfill, `seed ${seed}: head ${head}`).toBeLessThanOrEqual(tStrict as number);
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
    expect(backfilled).toBeGreaterThan(30);
  });
});
