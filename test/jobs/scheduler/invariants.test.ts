import { describe, expect, it } from 'vitest';
import type {
  Decision,
  PendingJob,
  RunningJob,
  SchedulerConfig,
  SchedulerSnapshot,
} from '../../../src/jobs/scheduler/index.js';
import { schedule } from '../../../src/jobs/scheduler/index.js';
import type { NodeCapacity } from '../../../src/jobs/types.js';
import { Random } from '../../../src/training/random.js';
import { scenario } from './random-scenario.js';

// Invariants every decision must keep, checked on seeded random scenarios run as step
// simulations (jobs finish, victims go back to the queue): whole gangs, exclusive GPUs of the
// right type, no node or quota over-committed, preemptions only as the policies allow, every
// pending job answered once, impossible exactly when the job could not run alone on an empty
// cluster, and the same decision for the same snapshot in any order.

const EPS = 1e-6;

interface Q {
  nominal: number;
  ceiling: number;
  guaranteed: number;
}

function quotas(config: SchedulerConfig) {
  const out = new Map<string, Map<string, Q>>();
  for (const q of config.queues) {
    for (const p of q.projects) {
      const m = new Map<string, Q>();
      const add = (
        key: string,
        r: { nominal: number; borrowingLimit?: number; lendingLimit?: number } | undefined,
      ) => {
        if (r === undefined) return;
        m.set(key, {
          nominal: r.nominal,
          ceiling: r.borrowingLimit === undefined ? Infinity : r.nominal + r.borrowingLimit,
          guaranteed: r.nominal - (r.lendingLimit ?? r.nominal),
        });
      };
      add('cpu', p.cpu);
      add('memory', p.memory);
      for (const [t, r] of Object.entries(p.gpus ?? {})) add(`gpu:${t}`, r);
      out.set(`${q.name}/${p.project}`, m);
    }
  }
  return out;
}

function usageOf(jobs: readonly RunningJob[], nodes: readonly NodeCapacity[]) {
  const typeOf = new Map<string, string>();
  for (const n of nodes)
    for (const [t, idx] of Object.entries(n.gpus)) for (const g of idx) typeOf.set(`${n.nodeId}#${g}`, t);
  const use = new Map<string, Map<string, number>>();
  for (const j of jobs) {
    const key = `${j.queue}/${j.project}`;
    const m = use.get(key) ?? new Map<string, number>();
    use.set(key, m);
    for (const p of j.placements) {
      m.set('cpu', (m.get('cpu') ?? 0) + p.cpu);
      m.set('memory', (m.get('memory') ?? 0) + p.memory);
      for (const g of p.gpus) {
        const r = `gpu:${typeOf.get(`${p.nodeId}#${g}`)}`;
        m.set(r, (m.get(r) ?? 0) + 1);
      }
    }
  }
  return use;
}

function check(s: SchedulerSnapshot, d: Decision): void {
  const pendingById = new Map(s.pending.map((j) => [j.id, j]));
  const runningById = new Map(s.running.map((j) => [j.id, j]));
  // Every pending job is answered exactly once.
  const answered = [...d.admissions.map((a) => a.jobId), ...d.pending.map((v) => v.jobId)];
  expect(answered.sort()).toEqual([...pendingById.keys()].sort());
  // Victims: running, once each, whole jobs, as the policy allows.
  const victims = new Set(d.preemptions.map((p) => p.jobId));
  expect(victims.size).toBe(d.preemptions.length);
  const q = quotas(s.config);
  const before = usageOf(s.running, s.nodes);
  for (const p of d.preemptions) {
    const v = runningById.get(p.jobId) as RunningJob;
    const by = pendingById.get(p.forJobId) as PendingJob;
    expect(v).toBeDefined();
    expect(d.admissions.find((a) => a.jobId === p.forJobId)?.waitFor).toContain(p.jobId);
    const qc = s.config.queues.find((x) => x.name === by.queue);
    const pc = qc?.projects.find((x) => x.project === by.project);
    if (p.kind === 'priority') {
      expect(v.project).toBe(by.project);
      expect(v.priority ?? 0).toBeLessThan(by.priority ?? 0);
      expect(pc?.preemption?.withinProject ?? qc?.preemption?.withinProject).toBe('lowerPriority');
    } else {
      expect(v.queue).toBe(by.queue);
      expect(v.project).not.toBe(by.project);
      const policy = pc?.preemption?.reclaimWithinCohort ?? qc?.preemption?.reclaimWithinCohort ?? 'any';
      expect(policy).not.toBe('never');
      if (policy === 'lowerPriority') expect(v.priority ?? 0).toBeLessThan(by.priority ?? 0);
      // The victim's project was borrowing something.
      const key = `${v.queue}/${v.project}`;
      const borrowing = [...(before.get(key) ?? new Map<string, number>())].some(
        ([r, u]) => u > (q.get(key)?.get(r)?.nominal ?? 0) + EPS,
      );
      expect(borrowing).toBe(true);
    }
  }
  // The state after the decision: survivors plus admissions.
  const after: RunningJob[] = s.running.filter((j) => !victims.has(j.id));
  for (const a of d.admissions) {
    const j = pendingById.get(a.jobId) as PendingJob;
    expect(a.placements).toHaveLength(j.nodes ?? 1);
    expect(new Set(a.placements.map((p) => p.nodeId)).size).toBe(j.nodes ?? 1);
    if (j.resources.gpu > 0 && j.resources.gpuType !== undefined) expect(a.gpuType).toBe(j.resources.gpuType);
    for (const p of a.placements) {
      expect(p.gpus).toHaveLength(j.resources.gpu);
      expect(p.cpu).toBe(j.resources.cpu);
      expect(p.memory).toBe(j.resources.memory);
      const node = s.nodes.find((n) => n.nodeId === p.nodeId) as NodeCapacity;
      for (const g of p.gpus) expect(node.gpus[a.gpuType as string]).toContain(g);
    }
    after.push({ id: j.id, queue: j.queue, project: j.project, startedAt: s.now, placements: a.placements });
  }
  // Nodes: GPUs exclusive, CPU and memory within capacity.
  const seen = new Set<string>();
  for (const n of s.nodes) {
    let cpu = 0;
    let mem = 0;
    for (const j of after) {
      for (const p of j.placements) {
        if (p.nodeId !== n.nodeId) continue;
        cpu += p.cpu;
        mem += p.memory;
        for (const g of p.gpus) {
          const k = `${n.nodeId}#${g}`;
          expect(seen.has(k), `GPU ${k} given twice`).toBe(false);
          seen.add(k);
        }
      }
    }
    expect(cpu).toBeLessThanOrEqual(n.cpu + EPS);
    expect(mem).toBeLessThanOrEqual(n.memory + EPS);
  }
  // Quotas: each project under nominal + borrowing limit, each queue's pool not overdrawn.
  const use = usageOf(after, s.nodes);
  for (const qc of s.config.queues) {
    const drawn = new Map<string, number>();
    const pool = new Map<string, number>();
    for (const pc of qc.projects) {
      const key = `${qc.name}/${pc.project}`;
      for (const [r, qq] of q.get(key) ?? []) {
        const u = use.get(key)?.get(r) ?? 0;
        expect(u, `${key} ${r}`).toBeLessThanOrEqual(qq.ceiling + EPS);
        drawn.set(r, (drawn.get(r) ?? 0) + Math.max(0, u - qq.guaranteed));
        pool.set(r, (pool.get(r) ?? 0) + qq.nominal - qq.guaranteed);
      }
      for (const [r, u] of use.get(key) ?? [])
        if (u > 0) expect(q.get(key)?.has(r), `${key} uses unlisted ${r}`).toBe(true);
    }
    for (const [r, x] of drawn)
      expect(x, `${qc.name} pool ${r}`).toBeLessThanOrEqual((pool.get(r) ?? 0) + EPS);
  }
  // Impossible exactly when the job could not run alone on the empty cluster.
  for (const v of d.pending) {
    const j = pendingById.get(v.jobId) as PendingJob;
    const alone = schedule({ now: s.now, config: s.config, nodes: s.nodes, running: [], pending: [j] });
    expect(alone.admissions.length === 0, `${j.id}: ${v.reason}`).toBe(v.impossible);
  }
  // Determinism, whatever the order of the lists.
  const rng = new Random(s.now + 1);
  const shuffled = schedule({
    ...s,
    nodes: rng.shuffle([...s.nodes]),
    running: rng.shuffle([...s.running]),
    pending: rng.shuffle([...s.pending]),
  });
  expect(shuffled).toEqual(d);
}

describe('invariants on random scenarios', () => {
  it('hold for every decision of 40 seeded step simulations', () => {
    let admissions = 0;
    let preemptions = 0;
    let impossible = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const sc = scenario(seed);
      const rng = new Random(seed * 7);
      const queue = [...sc.jobs];
      let pending: PendingJob[] = [];
      let running: (RunningJob & { finishAt: number })[] = [];
      for (let step = 0; step < 12; step++) {
        const now = step * 600_000;
        running = running.filter((j) => j.finishAt > now);
        // New jobs arrive over time, so some come after others have borrowed.
        pending.push(...queue.splice(0, 1 + rng.int(8)));
        const snapshot: SchedulerSnapshot = {
          now,
          config: sc.config,
          nodes: sc.nodes,
          running: running.map(({ finishAt: _, ...j }) => j),
          pending,
        };
        const d = schedule(snapshot);
        check(snapshot, d);
        admissions += d.admissions.length;
        preemptions += d.preemptions.length;
        impossible += d.pending.filter((v) => v.impossible).length;
        const victims = new Set(d.preemptions.map((p) => p.jobId));
        const requeued = running.filter((j) => victims.has(j.id));
        running = running.filter((j) => !victims.has(j.id));
        const byId = new Map(pending.map((j) => [j.id, j]));
        for (const a of d.admissions) {
          const j = byId.get(a.jobId) as PendingJob;
          const duration = sc.jobs.find((x) => x.id === j.id)?.durationSeconds ?? 60;
          running.push({
            id: j.id,
            queue: j.queue,
            project: j.project,
            priority: j.priority ?? 0,
            startedAt: now,
            placements: a.placements,
            finishAt: now + duration * 1000,
          });
        }
        const gone = new Set([
          ...d.admissions.map((a) => a.jobId),
          ...d.pending.filter((v) => v.impossible).map((v) => v.jobId),
        ]);
        pending = pending.filter((j) => !gone.has(j.id));
        for (const r of requeued) pending.push(sc.jobs.find((x) => x.id === r.id) as PendingJob);
      }
    }
    // The scenarios exercise what they check.
    expect(admissions).toBeGreaterThan(300);
    expect(preemptions).toBeGreaterThan(5);
    expect(impossible).toBeGreaterThan(3);
  });
});
