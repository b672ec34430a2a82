// The vocabulary shared by the jobs domain: specs, resources, states, and the executor
// interface every backend (local, agent, slurm, kubernetes) implements. The scheduler
// (src/jobs/scheduler/) is pure and sees only numbers; executors only see launch requests.

/** What a job asks for, per node it runs on. */
export interface Resources {
  /** CPU cores (fractions allowed, e.g. 0.5). */
  readonly cpu: number;
  /** Memory in bytes. */
  readonly memory: number;
  /** Whole GPUs. */
  readonly gpu: number;
  /** A GPU model name as the cluster knows it (e.g. "h100"); any type when absent. */
  readonly gpuType?: string;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. Default 1 (no retry). */
  readonly maxAttempts: number;
  /** Wait before attempt n+1 is backoffSeconds · 2^(n-1). */
  readonly backoffSeconds: number;
}

export interface JobSpec {
  readonly name?: string;
  /** argv; never passed through a shell. */
  readonly command: readonly string[];
  /** A folder snapshot stored as a project artifact (a .tar), or a path on the executing machine. */
  readonly code?: { readonly artifact: string } | { readonly path: string };
  readonly workdir?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Environment variable → secret name; resolved at launch, never stored with the job or logged. */
  readonly secrets?: Readonly<Record<string, string>>;
  readonly resources: Resources;
  readonly queue: string;
  /** Higher runs first. Default 0. */
  readonly priority?: number;
  readonly maxRuntimeSeconds?: number;
  readonly retry?: RetryPolicy;
  /** Multi-node (gang) jobs: `resources` is per node; all nodes start together or none does. */
  readonly distributed?: { readonly nodes: number; readonly procsPerNode: number };
  readonly mixedPrecision?: 'bf16' | 'fp16' | 'none';
}

export type JobState = 'queued' | 'admitted' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'preempted';

/** The states a job never leaves (the one list: the server, the CLI and the trial jobs use it). */
export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** Whether a job in `state` (as the API reports it) has ended for good. */
export function isTerminalState(state: string): boolean {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

/** Where one node's share of a job was placed: a node of an executor, and its GPU indices there. */
export interface Placement {
  readonly nodeId: string;
  readonly cpu: number;
  readonly memory: number;
  /** GPU indices on that node, exclusively this job's (CUDA_VISIBLE_DEVICES). */
  readonly gpus: readonly number[];
}

/** What an executor is asked to start: one job attempt, already admitted and placed. */
export interface LaunchRequest {
  /** Falaj's job id and attempt number (1-based); together they name the attempt. */
  readonly jobId: string;
  readonly attempt: number;
  readonly spec: JobSpec;
  readonly placements: readonly Placement[];
  /**
   * The full environment the process gets on top of the spec's: FALAJ_URL, FALAJ_TOKEN,
   * FALAJ_RUN_ID, resolved secrets, and (set by the executor per process) CUDA_VISIBLE_DEVICES
   * and the torchrun variables for distributed jobs.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The attempt's own directory: the job's working directory unless the spec names one, and
   * the only folder of the platform it can write (its sandbox, src/jobs/sandbox/).
   */
  readonly workDir: string;
  /** `none`: the job runs without any network (its queue's policy). Default: the host's network. */
  readonly network?: 'host' | 'none';
}

export type AttemptState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';

/** The states an attempt never leaves. */
export const ATTEMPT_ENDED_STATES: ReadonlySet<string> = new Set<AttemptState>([
  'succeeded',
  'failed',
  'cancelled',
  'lost',
]);

/** An executor's view of one attempt. `exitCode`/`signal` when it ended. */
export interface AttemptStatus {
  readonly state: AttemptState;
  readonly exitCode?: number;
  readonly signal?: string;
  /** Why, in words (e.g. "exit code 3", "killed by SIGKILL", "cancelled outside Falaj"). */
  readonly reason?: string;
}

/** Capacity an executor offers (the scheduler's nodes). */
export interface NodeCapacity {
  readonly nodeId: string;
  readonly cpu: number;
  readonly memory: number;
  /** GPU indices by type, e.g. { h100: [0, 1, 2, 3] }. */
  readonly gpus: Readonly<Record<string, readonly number[]>>;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Backend differences as data, not as methods that throw. */
export interface ExecutorCapabilities {
  readonly gpus: boolean;
  readonly multiNode: boolean;
  /** Job arrays (many small attempts submitted as one). */
  readonly arrays: boolean;
  /** Whether `logs` streams while the attempt runs (else only after). */
  readonly liveLogs: boolean;
  /**
   * Whether attempts see the server's disk (this machine, or a filesystem shared with the
   * cluster's nodes): the scheduler then unpacks a code snapshot into the attempt's workDir.
   * Elsewhere the executor brings the code itself (an agent downloads it) or refuses it.
   */
  readonly seesServerDisk: boolean;
}

/**
 * One backend that runs job attempts. Every implementation passes the same conformance suite
 * (test/jobs/executors/conformance.ts).
 */
export interface Executor {
  readonly kind: 'local' | 'agent' | 'slurm' | 'kubernetes';
  readonly capabilities: ExecutorCapabilities;
  /** The capacity it offers now. */
  discover(): Promise<NodeCapacity[]>;
  /** Starts an attempt; returns the backend's id for it (pid group, Slurm job id, k8s Job name). */
  start(req: LaunchRequest): Promise<{ externalId: string }>;
  /**
   * Starts alike attempts (same command, resources, workdir and time limit; not distributed) as
   * one job array, returning their ids in order. Present where `capabilities.arrays` is true.
   */
  startArray?(reqs: readonly LaunchRequest[]): Promise<{ externalId: string }[]>;
  status(externalId: string): Promise<AttemptStatus>;
  /** SIGTERM (or the backend's equivalent), then a kill after `graceSeconds`. Idempotent. */
  cancel(externalId: string, opts: { graceSeconds: number }): Promise<void>;
  /** stdout and stderr interleaved as written, from the start; ends when the attempt has ended. */
  logs(externalId: string, opts?: { follow?: boolean }): AsyncIterable<Uint8Array>;
  /** Frees what the executor holds (watchers, child handles); running attempts are not touched. */
  close(): Promise<void>;
}
