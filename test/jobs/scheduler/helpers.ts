// Builders for hand-made scheduling scenarios: small clusters, queues and jobs with readable ids.
import type {
  Decision,
  PendingJob,
  ProjectQuota,
  QueueConfig,
  RunningJob,
  SchedulerConfig,
  SchedulerSnapshot,
} from '../../../src/jobs/scheduler/index.js';
import { schedule } from '../../../src/jobs/scheduler/index.js';
import type { NodeCapacity, Placement } from '../../../src/jobs/types.js';

export const GiB = 1024 ** 3;

export function gpuNode(id: string, type = 'h100', gpus = 8, cpu = 64, memoryGiB = 512): NodeCapacity {
  return {
    nodeId: id,
    cpu,
    memory: memoryGiB * GiB,
    gpus: { [type]: Array.from({ length: gpus }, (_, i) => i) },
  };
}

export function cpuNode(id: string, cpu = 32, memoryGiB = 128): NodeCapacity {
  return { nodeId: id, cpu, memory: memoryGiB * GiB, gpus: {} };
}

/** A project with plenty of CPU and memory and the given GPU quotas. */
export function project(
  name: string,
  gpus: ProjectQuota['gpus'],
  extra: Partial<Omit<ProjectQuota, 'project' | 'gpus'>> = {},
): ProjectQuota {
  return { project: name, cpu: { nominal: 1000 }, memory: { nominal: 10_000 * GiB }, gpus, ...extra };
}

export function queue(
  projects: ProjectQuota[],
  extra: Partial<Omit<QueueConfig, 'projects'>> = {},
): SchedulerConfig {
  return { queues: [{ name: 'q', projects, ...extra }] };
}

export interface JobOpts {
  gpu?: number;
  type?: string | null;
  cpu?: number;
  memoryGiB?: number;
  priority?: number;
  at?: number;
  nodes?: number;
  runtime?: number;
  queue?: string;
}

export function pending(id: string, projectName: string, o: JobOpts = {}): PendingJob {
  const type = o.type === undefined ? 'h100' : o.type;
  return {
    id,
    queue: o.queue ?? 'q',
    project: projectName,
    priority: o.priority ?? 0,
    submittedAt: o.at ?? 0,
    resources: {
      cpu: o.cpu ?? 1,
      memory: (o.memoryGiB ?? 1) * GiB,
      gpu: o.gpu ?? 0,
      ...(type !== null && (o.gpu ?? 0) > 0 ? { gpuType: type } : {}),
    },
    nodes: o.nodes ?? 1,
    ...(o.runtime !== undefined ? { maxRuntimeSeconds: o.runtime } : {}),
  };
}

/** A running job holding GPUs `gpus` on `nodeId` (1 CPU, 1 GiB). */
export function running(
  id: string,
  projectName: string,
  place: { nodeId: string; gpus: number[] }[],
  o: { priority?: number; startedAt?: number; runtime?: number; terminating?: boolean } = {},
): RunningJob {
  return {
    id,
    queue: 'q',
    project: projectName,
    priority: o.priority ?? 0,
    startedAt: o.startedAt ?? 0,
    placements: place.map((p): Placement => ({ nodeId: p.nodeId, cpu: 1, memory: GiB, gpus: p.gpus })),
    ...(o.runtime !== undefined ? { maxRuntimeSeconds: o.runtime } : {}),
    ...(o.terminating ? { terminating: true } : {}),
  };
}

export function run(s: Partial<SchedulerSnapshot> & Pick<SchedulerSnapshot, 'config' | 'nodes'>): Decision {
  return schedule({ now: 0, running: [], pending: [], ...s });
}

export function admitted(d: Decision): string[] {
  return d.admissions.map((a) => a.jobId).sort();
}

export function verdict(d: Decision, id: string) {
  const v = d.pending.find((p) => p.jobId === id);
  if (v === undefined) throw new Error(`no verdict for ${id}`);
  return v;
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}
