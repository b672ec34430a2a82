// The working state of one scheduling pass: the model (quotas, usage), the node pool, and every
// job that holds capacity ("live": running, admitted, or being preempted), indexed by node and
// by project so that preemption and reservations look only at the jobs that matter.
import type { Resources } from '../types.js';
import { buildModel, CPU, MEMORY, type Model, type Tenant } from './model.js';
import { type Hold, NodePool, type Share } from './node-pool.js';
import { charge, type Demand, dominantShare } from './quota.js';
import type { PendingJob, RunningJob, SchedulerSnapshot } from './types.js';

export interface Live {
  readonly id: string;
  /** Undefined when its queue or project is no longer configured: it holds nodes, not quota. */
  readonly tenant: Tenant | undefined;
  readonly priority: number;
  readonly startedAt: number;
  /** Expected end (start + time limit); Infinity when it has no limit. */
  end: number;
  readonly holds: readonly Hold[];
  /** Quota it holds, by resource index. */
  readonly use: Float64Array;
  terminating: boolean;
  /** Admitted in this pass (never preempted in the pass that admitted it). */
  readonly fresh: boolean;
  /** False when it cannot be preempted (terminating, or sharing GPUs with a terminating job). */
  victimOk: boolean;
}

/** A pending job with what the pass derives from it once. */
export interface Prepared {
  readonly job: PendingJob;
  /** Its position in the pass (identifies it in node reservations). */
  readonly index: number;
  readonly tenant: Tenant;
  readonly nodes: number;
  readonly priority: number;
  /** now + time limit, Infinity without one. */
  readonly end: number;
}

export function shareOf(r: Resources, gpuRes: number): Share {
  return { cpu: r.cpu, memory: r.memory, gpuRes: r.gpu > 0 ? gpuRes : -1, gpus: r.gpu };
}

export function demandOf(r: Resources, nodes: number, gpuRes: number): Demand {
  return {
    cpu: r.cpu * nodes,
    memory: r.memory * nodes,
    gpuRes: r.gpu > 0 ? gpuRes : -1,
    gpus: r.gpu * nodes,
  };
}

export class PassState {
  readonly now: number;
  readonly model: Model;
  readonly pool: NodePool;
  readonly lives: Live[] = [];
  /** Per node: the live jobs holding part of it. */
  readonly onNode: Live[][];
  /** Per tenant index: its live jobs. */
  readonly ofTenant: Live[][];

  constructor(snapshot: SchedulerSnapshot) {
    this.now = snapshot.now;
    // Canonical order: the decision must not depend on the order the caller listed things in.
    const nodes = [...snapshot.nodes].sort((a, b) => cmp(a.nodeId, b.nodeId));
    this.model = buildModel(snapshot.config, nodes, snapshot.usage);
    this.pool = new NodePool(nodes, this.model.gpuResource);
    this.onNode = nodes.map(() => []);
    this.ofTenant = this.model.tenants.map(() => []);
    const running = [...snapshot.running].sort((a, b) => cmp(a.id, b.id));
    for (const job of running) this.addRunning(job);
    for (const t of this.model.tenants) t.dominantShare = dominantShare(t, this.model.capacity);
    // A job that was admitted onto GPUs a preempted job still holds cannot start before that
    // job exits; preempting it would free nothing.
    const held = this.pool.ids.map(() => new Set<number>());
    for (const l of this.lives)
      if (l.terminating) for (const h of l.holds) for (const g of h.gpus) held[h.node]?.add(g);
    for (const l of this.lives) {
      if (l.terminating) continue;
      if (l.holds.some((h) => h.gpus.some((g) => held[h.node]?.has(g)))) l.victimOk = false;
    }
  }

  private addRunning(job: RunningJob): void {
    const tenant = this.model.tenant(job.queue, job.project);
    const use = new Float64Array(this.model.resourceKeys.length);
    const holds: Hold[] = [];
    for (const p of job.placements) {
      use[CPU] = (use[CPU] as number) + p.cpu;
      use[MEMORY] = (use[MEMORY] as number) + p.memory;
      const node = this.pool.byId.get(p.nodeId);
      // A node that is gone takes its GPUs with it; its CPU and memory still count as quota
      // until the caller notices the job is lost.
      if (node === undefined) continue;
      const resOf = this.pool.gpuResOf[node] as ReadonlyMap<number, number>;
      for (const g of p.gpus) {
        const r = resOf.get(g);
        if (r !== undefined) use[r] = (use[r] as number) + 1;
      }
      holds.push({ node, cpu: p.cpu, memory: p.memory, gpus: p.gpus });
    }
    const terminating = job.terminating === true;
    const end = terminating
      ? this.now
      : job.maxRuntimeSeconds === undefined
        ? Infinity
        : job.startedAt + job.maxRuntimeSeconds * 1000;
    const live: Live = {
      id: job.id,
      tenant,
      priority: job.priority ?? 0,
      startedAt: job.startedAt,
      end,
      holds,
      use,
      terminating,
      fresh: false,
      victimOk: !terminating && tenant !== undefined,
    };
    this.addLive(live);
    for (const h of holds) this.pool.occupy(h);
    if (tenant !== undefined && !terminating) this.chargeLive(live, 1);
  }

  addLive(live: Live): void {
    this.lives.push(live);
    for (const h of live.holds) this.onNode[h.node]?.push(live);
    if (live.tenant !== undefined) this.ofTenant[live.tenant.index]?.push(live);
  }

  /** Charges (1) or releases (−1) the live job's quota. */
  chargeLive(live: Live, sign: 1 | -1): void {
    const t = live.tenant;
    if (t === undefined) return;
    for (let r = 0; r < live.use.length; r++) {
      const a = live.use[r] as number;
      if (a !== 0) charge(t, r, sign * a);
    }
  }
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
