// The scheduler's public vocabulary: the configuration of queues and project quotas (Kueue's
// cohort and ClusterQueues), the snapshot one scheduling pass reads, and the decision it returns.
// Everything here is plain JSON: the caller stores config and usage history as they are.
// Times are milliseconds since the epoch (Date.now()); runtimes are seconds, as in JobSpec.
import type { NodeCapacity, Placement, Resources } from '../types.js';

/**
 * BestEffortFIFO (default): a job that cannot start does not stop later jobs of its project
 * from starting, as long as they do not delay it (see backfill in schedule.ts).
 * StrictFIFO: nothing of the project passes its first blocked job.
 */
export type QueueingStrategy = 'BestEffortFIFO' | 'StrictFIFO';

/** Whether a project under its nominal quota may preempt jobs of projects that borrow from it. */
export type ReclaimPolicy = 'never' | 'lowerPriority' | 'any';

/** Whether a job may preempt lower-priority jobs of its own project. */
export type WithinProjectPolicy = 'never' | 'lowerPriority';

export interface PreemptionPolicy {
  /** Default 'any': lent quota comes back when its owner needs it. */
  readonly reclaimWithinCohort?: ReclaimPolicy;
  /** Default 'never'. */
  readonly withinProject?: WithinProjectPolicy;
}

/** One resource of one project: cores for cpu, bytes for memory, whole GPUs for a GPU type. */
export interface ResourceQuota {
  /** What the project is guaranteed, and lends to the queue while it does not use it. */
  readonly nominal: number;
  /** At most this much above nominal, borrowed from the others; unlimited when absent. */
  readonly borrowingLimit?: number;
  /** At most this much of its nominal may be lent to the others; all of it when absent. */
  readonly lendingLimit?: number;
}

/**
 * A project's quotas in one queue (a Kueue ClusterQueue). A resource that is not listed cannot
 * be used by the project's jobs in this queue at all (a job asking for it is impossible).
 */
export interface ProjectQuota {
  readonly project: string;
  /** Weight in weighted fair share (default 1): a project with weight 2 gets twice the share. */
  readonly weight?: number;
  readonly cpu?: ResourceQuota;
  readonly memory?: ResourceQuota;
  /**
   * By GPU type (flavor). A job that names no type takes the first type listed here that it
   * can get (quota and a node), in this order.
   */
  readonly gpus?: Readonly<Record<string, ResourceQuota>>;
  /** Overrides the queue's. */
  readonly queueingStrategy?: QueueingStrategy;
  /** Overrides the queue's, field by field. */
  readonly preemption?: PreemptionPolicy;
}

/** A queue (a Kueue cohort): projects in it borrow each other's unused nominal quota. */
export interface QueueConfig {
  readonly name: string;
  readonly queueingStrategy?: QueueingStrategy;
  readonly preemption?: PreemptionPolicy;
  /** `none`: the queue's jobs run without any network (sandboxed executors). Default `host`. */
  readonly network?: 'host' | 'none';
  readonly projects: readonly ProjectQuota[];
}

export interface SchedulerConfig {
  readonly queues: readonly QueueConfig[];
  readonly fairShare?: {
    /** Half-life of the usage history (default 3600 s); used by accrueUsage's callers. */
    readonly halfLifeSeconds?: number;
    /** How much the history counts against the current share in the ordering (default 4). */
    readonly historyWeight?: number;
  };
  readonly backfill?: {
    /** Blocked jobs that get nodes reserved in one pass, at most (default 32). */
    readonly maxReservations?: number;
  };
}

/** A job waiting to be admitted. */
export interface PendingJob {
  readonly id: string;
  readonly queue: string;
  readonly project: string;
  /** Higher first, within the project. Default 0. */
  readonly priority?: number;
  readonly submittedAt: number;
  /** Per node. */
  readonly resources: Resources;
  /** Gang size (JobSpec.distributed.nodes): all nodes are placed together or none. Default 1. */
  readonly nodes?: number;
  /** The job's time limit; lets backfill run it before a reservation it would not delay. */
  readonly maxRuntimeSeconds?: number;
}

/** A job holding capacity: admitted (maybe not started yet) or running. */
export interface RunningJob {
  readonly id: string;
  readonly queue: string;
  readonly project: string;
  readonly priority?: number;
  /** When it was admitted; the most recently started are preempted first. */
  readonly startedAt: number;
  readonly placements: readonly Placement[];
  readonly maxRuntimeSeconds?: number;
  /**
   * Being preempted or cancelled and not stopped yet: it still holds its node capacity (its GPUs
   * are busy until it exits), but its quota is released and it is never chosen as a victim.
   */
  readonly terminating?: boolean;
}

/**
 * Per queue, per project: the decayed average dominant share (0..1) kept by the caller with
 * accrueUsage. Projects missing here count as 0.
 */
export type UsageHistory = Readonly<Record<string, Readonly<Record<string, number>>>>;

export interface SchedulerSnapshot {
  readonly now: number;
  readonly config: SchedulerConfig;
  readonly nodes: readonly NodeCapacity[];
  readonly running: readonly RunningJob[];
  readonly pending: readonly PendingJob[];
  readonly usage?: UsageHistory;
}

export interface Admission {
  readonly jobId: string;
  /** One per gang member, in rank order. */
  readonly placements: readonly Placement[];
  /** The GPU type the job got (resolved when it asked for any type); absent for CPU-only jobs. */
  readonly gpuType?: string;
  /** Whether the project goes above its nominal quota with this job (so it may be reclaimed). */
  readonly borrowing: boolean;
  /** Jobs preempted for this one: start it only once they have stopped (their GPUs are its). */
  readonly waitFor: readonly string[];
}

export type PreemptionKind = 'reclaim' | 'priority';

export interface Preemption {
  readonly jobId: string;
  /** The admitted job that takes its place. */
  readonly forJobId: string;
  readonly kind: PreemptionKind;
  /** E.g. "reclaim by project vision" or "higher priority job j-12 (priority 10 > 0)". */
  readonly reason: string;
}

/**
 * Why a job stays pending. impossible: it can never be admitted as configured (fail it with
 * the reason); quota / capacity: it waits for quota or for nodes; fifo: StrictFIFO holds it
 * behind an earlier job; hold: starting it would delay an earlier blocked job.
 */
export type PendingKind = 'impossible' | 'quota' | 'capacity' | 'fifo' | 'hold';

export interface PendingVerdict {
  readonly jobId: string;
  readonly kind: PendingKind;
  readonly impossible: boolean;
  readonly reason: string;
}

export interface TenantShare {
  readonly queue: string;
  readonly project: string;
  readonly weight: number;
  /** Largest share of any one resource of the cluster the project holds in this queue (DRF). */
  readonly dominantShare: number;
  /** Held now, by resource key: 'cpu', 'memory', 'gpu:<type>'. */
  readonly usage: Readonly<Record<string, number>>;
}

export interface Decision {
  readonly admissions: readonly Admission[];
  readonly preemptions: readonly Preemption[];
  /** Every pending job that was not admitted. */
  readonly pending: readonly PendingVerdict[];
  /** Shares after this pass's admissions and preemptions, for metrics and accrueUsage. */
  readonly shares: readonly TenantShare[];
}
