// A step simulation around schedule(): jobs run for a known duration, finish, are preempted
// (stopping at once and going back to the queue with the work they had left) and new ones are
// submitted between steps. The tests and the benchmark drive the scheduler through it; it also
// answers "what if" questions about a config without a cluster.

import type { NodeCapacity } from '../types.js';
import { accrueUsage, DEFAULT_HALF_LIFE_SECONDS } from './fair-share.js';
import { schedule } from './schedule.js';
import type { Decision, PendingJob, RunningJob, SchedulerConfig, UsageHistory } from './types.js';

export interface SimJob extends PendingJob {
  /** How long it really runs (its time limit, when it has one, should not be shorter). */
  readonly durationSeconds: number;
}

export interface SimulationOptions {
  readonly config: SchedulerConfig;
  readonly nodes: readonly NodeCapacity[];
  readonly start?: number;
  readonly stepSeconds: number;
  readonly halfLifeSeconds?: number;
  /** Checks every decision's invariants (exclusive GPUs, whole gangs); costs a little time. */
  readonly check?: boolean;
}

interface Active {
  readonly sim: SimJob;
  readonly job: RunningJob;
  readonly finishAt: number;
}

export interface SimulationStats {
  passes: number;
  admissions: number;
  preemptions: number;
  /** Wall time spent inside schedule(), milliseconds. */
  scheduleMs: number;
  slowestPassMs: number;
  /** Per "queue/project": integral of its dominant share over time, share·seconds. */
  readonly shareSeconds: Map<string, number>;
  /** Per "queue/project": GPU·seconds held. */
  readonly gpuSeconds: Map<string, number>;
  /** GPU·seconds held by anyone, and GPU·seconds the queue could have used (≤ capacity). */
  allocatedGpuSeconds: number;
  usableGpuSeconds: number;
  /** Job id → time it was (last) admitted. */
  readonly admittedAt: Map<string, number>;
  /** Job id → reason, for jobs the scheduler declared impossible (dropped). */
  readonly impossible: Map<string, string>;
  /** Invariant breaches found with `check` (should stay empty). */
  readonly violations: string[];
}

export class Simulation {
  now: number;
  usage: UsageHistory = {};
  readonly stats: SimulationStats;
  private readonly pending = new Map<string, SimJob>();
  private readonly running = new Map<string, Active>();
  private readonly gpuCapacity: Map<string, number>;
  private lastDecision: Decision | undefined;

  constructor(private readonly opts: SimulationOptions) {
    this.now = opts.start ?? 0;
    this.stats = {
      passes: 0,
      admissions: 0,
      preemptions: 0,
      scheduleMs: 0,
      slowestPassMs: 0,
      shareSeconds: new Map(),
      gpuSeconds: new Map(),
      allocatedGpuSeconds: 0,
      usableGpuSeconds: 0,
      admittedAt: new Map(),
      impossible: new Map(),
      violations: [],
    };
    this.gpuCapacity = new Map();
    for (const n of opts.nodes) {
      for (const [t, idx] of Object.entries(n.gpus))
        this.gpuCapacity.set(t, (this.gpuCapacity.get(t) ?? 0) + idx.length);
    }
  }

  submit(jobs: readonly SimJob[]): void {
    for (const j of jobs) this.pending.set(j.id, j);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get runningJobs(): readonly RunningJob[] {
    return [...this.running.values()].map((a) => a.job);
  }

  pendingOf(project: string): number {
    let n = 0;
    for (const j of this.pending.values()) if (j.project === project) n++;
    return n;
  }

  get decision(): Decision | undefined {
    return this.lastDecision;
  }

  /** Ends the jobs due by now, runs one pass, applies it, then advances the clock one step. */
  step(): Decision {
    const { config, nodes, stepSeconds } = this.opts;
    for (const [id, a] of this.running) if (a.finishAt <= this.now) this.running.delete(id);
    const t0 = performance.now();
    const decision = schedule({
      now: this.now,
      config,
      nodes,
      running: [...this.running.values()].map((a) => a.job),
      pending: [...this.pending.values()],
      usage: this.usage,
    });
    const ms = performance.now() - t0;
    this.lastDecision = decision;
    const s = this.stats;
    s.passes++;
    s.scheduleMs += ms;
    s.slowestPassMs = Math.max(s.slowestPassMs, ms);
    for (const p of decision.preemptions) {
      const a = this.running.get(p.jobId);
      if (a === undefined) continue;
      this.running.delete(p.jobId);
      const done = (this.now - a.job.startedAt) / 1000;
      // It resumes from its last checkpoint: here, with exactly the work it had left.
      this.pending.set(p.jobId, { ...a.sim, durationSeconds: Math.max(1, a.sim.durationSeconds - done) });
      s.preemptions++;
    }
    for (const adm of decision.admissions) {
      const sim = this.pending.get(adm.jobId);
      if (sim === undefined) continue;
      this.pending.delete(adm.jobId);
      const job: RunningJob = {
        id: sim.id,
        queue: sim.queue,
        project: sim.project,
        priority: sim.priority ?? 0,
        startedAt: this.now,
        placements: adm.placements,
        ...(sim.maxRuntimeSeconds !== undefined ? { maxRuntimeSeconds: sim.maxRuntimeSeconds } : {}),
      };
      this.running.set(sim.id, { sim, job, finishAt: this.now + sim.durationSeconds * 1000 });
      s.admissions++;
      s.admittedAt.set(sim.id, this.now);
      if (this.opts.check === true && adm.placements.length !== (sim.nodes ?? 1)) {
        s.violations.push(`job ${sim.id} placed on ${adm.placements.length} of ${sim.nodes ?? 1} nodes`);
      }
    }
    for (const v of decision.pending) {
      if (!v.impossible) continue;
      this.pending.delete(v.jobId);
      s.impossible.set(v.jobId, v.reason);
    }
    if (this.opts.check === true) this.checkExclusive();
    this.account(decision, stepSeconds);
    this.usage = accrueUsage(
      this.usage,
      decision.shares,
      stepSeconds,
      this.opts.halfLifeSeconds ?? config.fairShare?.halfLifeSeconds ?? DEFAULT_HALF_LIFE_SECONDS,
    );
    this.now += stepSeconds * 1000;
    return decision;
  }

  private account(decision: Decision, dt: number): void {
    const s = this.stats;
    for (const share of decision.shares) {
      const key = `${share.queue}/${share.project}`;
      s.shareSeconds.set(key, (s.shareSeconds.get(key) ?? 0) + share.dominantShare * dt);
      let gpus = 0;
      for (const [k, v] of Object.entries(share.usage)) if (k.startsWith('gpu:')) gpus += v;
      s.gpuSeconds.set(key, (s.gpuSeconds.get(key) ?? 0) + gpus * dt);
      s.allocatedGpuSeconds += gpus * dt;
    }
    // What the queue could use: per GPU type, the capacity or all the GPUs its jobs ask, whichever
    // is smaller (a job of any type counts towards whichever type has room).
    const wanted = new Map<string, number>();
    let anyType = 0;
    const add = (j: PendingJob) => {
      const g = j.resources.gpu * (j.nodes ?? 1);
      if (g === 0) return;
      const t = j.resources.gpuType;
      if (t === undefined) anyType += g;
      else wanted.set(t, (wanted.get(t) ?? 0) + g);
    };
    for (const j of this.pending.values()) add(j);
    for (const a of this.running.values()) add(a.sim);
    let usable = 0;
    let spare = 0;
    for (const [t, cap] of this.gpuCapacity) {
      const w = wanted.get(t) ?? 0;
      usable += Math.min(cap, w);
      spare += Math.max(0, cap - w);
    }
    usable += Math.min(spare, anyType);
    s.usableGpuSeconds += usable * dt;
  }

  private checkExclusive(): void {
    const seen = new Set<string>();
    for (const a of this.running.values()) {
      for (const p of a.job.placements) {
        for (const g of p.gpus) {
          const key = `${p.nodeId}#${g}`;
          if (seen.has(key)) this.stats.violations.push(`GPU ${key} held twice at ${this.now}`);
          seen.add(key);
        }
      }
    }
  }
}
