// Seeded random scenarios for invariant tests: small clusters, a queue or two of projects with
// random quotas (borrowing and lending limits included), and a stream of mixed jobs.
import type {
  PendingJob,
  PreemptionPolicy,
  ProjectQuota,
  QueueConfig,
  ResourceQuota,
  SchedulerConfig,
} from '../../../src/jobs/scheduler/index.js';
import type { SimJob } from '../../../src/jobs/scheduler/simulation.js';
import type { NodeCapacity } from '../../../src/jobs/types.js';
import { Random } from '../../../src/training/random.js';
import { GiB } from './helpers.js';

export interface Scenario {
  readonly config: SchedulerConfig;
  readonly nodes: NodeCapacity[];
  readonly jobs: SimJob[];
}

function pick<T>(rng: Random, xs: readonly T[]): T {
  return xs[rng.int(xs.length)] as T;
}

function quota(rng: Random, scale: number): ResourceQuota {
  const nominal = Math.round(rng.next() * scale);
  return {
    nominal,
    ...(rng.next() < 0.3 ? { borrowingLimit: Math.round(rng.next() * scale) } : {}),
    ...(rng.next() < 0.3 ? { lendingLimit: Math.round(rng.next() * nominal) } : {}),
  };
}

export interface ScenarioOptions {
  jobs?: number;
  /** Every job declares its true runtime as its time limit. */
  exactRuntimes?: boolean;
  /** One project, generous quota (backfill tests). */
  single?: boolean;
  /** No CPU-only jobs. */
  gpuOnly?: boolean;
}

export function scenario(seed: number, o: ScenarioOptions = {}): Scenario {
  const rng = new Random(seed);
  const nodes: NodeCapacity[] = [];
  const gpuNodes = 2 + rng.int(5);
  for (let i = 0; i < gpuNodes; i++) {
    const n = pick(rng, [4, 8]);
    nodes.push({
      nodeId: `g${i}`,
      cpu: pick(rng, [32, 64]),
      memory: pick(rng, [256, 512]) * GiB,
      gpus: { [pick(rng, ['h100', 'a100'])]: Array.from({ length: n }, (_, k) => k) },
    });
  }
  const cpuNodes = rng.int(3);
  for (let i = 0; i < cpuNodes; i++) nodes.push({ nodeId: `c${i}`, cpu: 32, memory: 128 * GiB, gpus: {} });
  const gpuTotal = gpuNodes * 8;

  const queues: QueueConfig[] = [];
  const nq = o.single ? 1 : 1 + (rng.next() < 0.3 ? 1 : 0);
  for (let q = 0; q < nq; q++) {
    const projects: ProjectQuota[] = [];
    const np = o.single ? 1 : 2 + rng.int(2);
    for (let p = 0; p < np; p++) {
      const preemption: PreemptionPolicy = {
        reclaimWithinCohort: pick(rng, ['never', 'lowerPriority', 'any'] as const),
        withinProject: pick(rng, ['never', 'lowerPriority'] as const),
      };
      projects.push(
        o.single
          ? {
              project: 'p0',
              cpu: { nominal: 10_000 },
              memory: { nominal: 100_000 * GiB },
              gpus: { h100: { nominal: 1000 }, a100: { nominal: 1000 } },
              queueingStrategy: 'BestEffortFIFO',
            }
          : {
              project: `p${p}`,
              weight: 1 + rng.int(3),
              cpu: quota(rng, 200),
              memory: quota(rng, 2000 * GiB),
              gpus: { h100: quota(rng, gpuTotal * 0.6), a100: quota(rng, gpuTotal * 0.6) },
              queueingStrategy: rng.next() < 0.3 ? 'StrictFIFO' : 'BestEffortFIFO',
              preemption,
            },
      );
    }
    queues.push({ name: `q${q}`, projects });
  }

  const jobs: SimJob[] = [];
  const count = o.jobs ?? 10 + rng.int(30);
  for (let i = 0; i < count; i++) {
    const queue = pick(rng, queues);
    const project = pick(rng, queue.projects).project;
    let gpu = pick(rng, o.gpuOnly ? [1, 2, 4, 8] : [0, 1, 1, 2, 4, 8]);
    const nodesN = gpu >= 4 && rng.next() < 0.25 ? 2 + rng.int(2) : 1;
    if (rng.next() < 0.03) gpu = 16; // sometimes impossible
    const type = rng.next() < 0.8 ? pick(rng, ['h100', 'a100']) : undefined;
    const duration = 60 * (1 + rng.int(60));
    const job: PendingJob = {
      id: `j${String(i).padStart(3, '0')}`,
      queue: queue.name,
      project,
      priority: rng.int(4),
      submittedAt: rng.int(1000),
      resources: {
        cpu: gpu === 0 ? 1 + rng.int(8) : gpu * (1 + rng.int(3)),
        memory: (1 + rng.int(32)) * GiB,
        gpu,
        ...(type !== undefined && gpu > 0 ? { gpuType: type } : {}),
      },
      nodes: nodesN,
      ...(o.exactRuntimes || rng.next() < 0.7 ? { maxRuntimeSeconds: duration } : {}),
    };
    jobs.push({ ...job, durationSeconds: duration });
  }
  return { config: { queues }, nodes, jobs };
}
