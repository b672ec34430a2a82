// The config turned into arrays the hot loop can index: resources numbered (0 cpu, 1 memory,
// then one per GPU type), and one Tenant per (queue, project) pair — Kueue's ClusterQueue —
// with its quota vectors and live usage.
import type { NodeCapacity } from '../types.js';
import type {
  QueueingStrategy,
  ReclaimPolicy,
  ResourceQuota,
  SchedulerConfig,
  UsageHistory,
  WithinProjectPolicy,
} from './types.js';

/**
 * How much the usage history counts against the current share. Measured (test/jobs/scheduler/
 * fair-share.test.ts, 8-GPU vs 1-GPU projects): 0 leaves the big-job project 33% for a 25%
 * weight, 1 gives 26.5%, 4 gives 25.2%; higher starts to overshoot within a pass.
 */
export const DEFAULT_HISTORY_WEIGHT = 4;

export const CPU = 0;
export const MEMORY = 1;

export interface QueueState {
  readonly name: string;
  readonly tenants: Tenant[];
  /** Per resource: the lendable quota of all its projects together (Kueue's cohort pool). */
  readonly pool: Float64Array;
  /** Per resource: how much of the pool is drawn now. */
  readonly poolUsed: Float64Array;
}

export interface Tenant {
  readonly index: number;
  readonly queue: QueueState;
  readonly project: string;
  readonly weight: number;
  readonly strategy: QueueingStrategy;
  readonly reclaim: ReclaimPolicy;
  readonly within: WithinProjectPolicy;
  /** 1 where the project lists the resource; unlisted resources cannot be used at all. */
  readonly listed: Uint8Array;
  readonly nominal: Float64Array;
  /** Nominal plus borrowing limit (Infinity when no limit). */
  readonly ceiling: Float64Array;
  /** Nominal minus lending limit: the part only this project may use. */
  readonly guaranteed: Float64Array;
  /** GPU resource indices the project lists, in its order (flavor preference). */
  readonly gpuOrder: readonly number[];
  readonly usage: Float64Array;
  /** Decayed average dominant share from the caller's history. */
  readonly history: number;
  dominantShare: number;
}

export interface Model {
  /** 'cpu', 'memory', then 'gpu:<type>' sorted by type. */
  readonly resourceKeys: readonly string[];
  readonly gpuTypes: readonly string[];
  /** GPU type → resource index. */
  readonly gpuResource: ReadonlyMap<string, number>;
  /** Cluster capacity per resource (the DRF denominators). */
  readonly capacity: Float64Array;
  readonly queues: ReadonlyMap<string, QueueState>;
  readonly tenants: readonly Tenant[];
  readonly historyWeight: number;
  tenant(queue: string, project: string): Tenant | undefined;
}

export function gpuTypeOf(model: Model, resource: number): string {
  return model.gpuTypes[resource - 2] as string;
}

/** Builds the model; the config and nodes must have been validated. */
export function buildModel(
  config: SchedulerConfig,
  nodes: readonly NodeCapacity[],
  usage?: UsageHistory,
): Model {
  const types = new Set<string>();
  for (const n of nodes) for (const t of Object.keys(n.gpus)) types.add(t);
  for (const q of config.queues)
    for (const p of q.projects) for (const t of Object.keys(p.gpus ?? {})) types.add(t);
  const gpuTypes = [...types].sort();
  const gpuResource = new Map(gpuTypes.map((t, i) => [t, i + 2]));
  const R = gpuTypes.length + 2;
  const resourceKeys = ['cpu', 'memory', ...gpuTypes.map((t) => `gpu:${t}`)];

  const capacity = new Float64Array(R);
  for (const n of nodes) {
    capacity[CPU] = (capacity[CPU] as number) + n.cpu;
    capacity[MEMORY] = (capacity[MEMORY] as number) + n.memory;
    for (const [t, idx] of Object.entries(n.gpus)) {
      const r = gpuResource.get(t) as number;
      capacity[r] = (capacity[r] as number) + idx.length;
    }
  }

  const queues = new Map<string, QueueState>();
  const tenants: Tenant[] = [];
  const byKey = new Map<string, Tenant>();
  for (const q of config.queues) {
    const queue: QueueState = {
      name: q.name,
      tenants: [],
      pool: new Float64Array(R),
      poolUsed: new Float64Array(R),
    };
    queues.set(q.name, queue);
    for (const p of q.projects) {
      const listed = new Uint8Array(R);
      const nominal = new Float64Array(R);
      const ceiling = new Float64Array(R);
      const guaranteed = new Float64Array(R);
      const set = (r: number, quota: ResourceQuota | undefined) => {
        if (quota === undefined) return;
        listed[r] = 1;
        nominal[r] = quota.nominal;
        ceiling[r] = quota.borrowingLimit === undefined ? Infinity : quota.nominal + quota.borrowingLimit;
        const lendable = quota.lendingLimit ?? quota.nominal;
        guaranteed[r] = quota.nominal - lendable;
        queue.pool[r] = (queue.pool[r] as number) + lendable;
      };
      set(CPU, p.cpu);
      set(MEMORY, p.memory);
      const gpuOrder: number[] = [];
      for (const [t, quota] of Object.entries(p.gpus ?? {})) {
        const r = gpuResource.get(t) as number;
        gpuOrder.push(r);
        set(r, quota);
      }
      const tenant: Tenant = {
        index: tenants.length,
        queue,
        project: p.project,
        weight: p.weight ?? 1,
        strategy: p.queueingStrategy ?? q.queueingStrategy ?? 'BestEffortFIFO',
        reclaim: p.preemption?.reclaimWithinCohort ?? q.preemption?.reclaimWithinCohort ?? 'any',
        within: p.preemption?.withinProject ?? q.preemption?.withinProject ?? 'never',
        listed,
        nominal,
        ceiling,
        guaranteed,
        gpuOrder,
        usage: new Float64Array(R),
        history: usage?.[q.name]?.[p.project] ?? 0,
        dominantShare: 0,
      };
      tenants.push(tenant);
      queue.tenants.push(tenant);
      byKey.set(`${q.name}\u0000${p.project}`, tenant);
    }
  }
  return {
    resourceKeys,
    gpuTypes,
    gpuResource,
    capacity,
    queues,
    tenants,
    historyWeight: config.fairShare?.historyWeight ?? DEFAULT_HISTORY_WEIGHT,
    tenant: (queue, project) => byKey.get(`${queue}\u0000${project}`),
  };
}
