// From the stored job to what the scheduler reads.
import type { JobSpec } from '../types.js';
import type { PendingJob } from './types.js';

/** The scheduler's view of a queued job (its project is the one it was submitted in). */
export function pendingJobFromSpec(
  id: string,
  project: string,
  spec: JobSpec,
  submittedAt: number,
): PendingJob {
  return {
    id,
    queue: spec.queue,
    project,
    priority: spec.priority ?? 0,
    submittedAt,
    resources: spec.resources,
    nodes: spec.distributed?.nodes ?? 1,
    ...(spec.maxRuntimeSeconds !== undefined ? { maxRuntimeSeconds: spec.maxRuntimeSeconds } : {}),
  };
}
