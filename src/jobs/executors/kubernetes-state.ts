// From a Job's status (and its pods') to an attempt's state. Pure, so that it is tested on
// recorded status objects: no cluster runs on Falaj's development machines.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { AttemptStatus } from '../types.js';

/** Pod-level reasons that mean the node or the cluster took the pod away, not the program failing. */
const LOST_REASONS = new Set([
  'Evicted',
  'NodeLost',
  'Preempting',
  'Shutdown',
  'Terminated',
  'UnexpectedAdmissionError',
]);

export function attemptStatusOfJob(job: V1Job, pods: readonly V1Pod[]): AttemptStatus {
  if (job.metadata?.deletionTimestamp) return { state: 'cancelled', reason: 'the Job is being deleted' };
  const conditions = job.status?.conditions ?? [];
  const on = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');

  if (on('Complete') || on('SuccessCriteriaMet')) return { state: 'succeeded', exitCode: 0 };
  const failed = on('Failed') ?? on('FailureTarget');
  if (failed) {
    if (failed.reason === 'DeadlineExceeded') {
      return { state: 'failed', reason: 'exceeded its maximum runtime (activeDeadlineSeconds)' };
    }
    return (
      failedPodStatus(pods) ?? {
        state: 'failed',
        reason: failed.message || failed.reason || 'the Job failed',
      }
    );
  }
  if (on('Suspended')) return { state: 'pending', reason: 'the Job is suspended' };

  const running = pods.some((p) => p.status?.phase === 'Running');
  if (running || (job.status?.ready ?? 0) > 0) return { state: 'running' };
  // A pod that already failed while the Job has not yet said so.
  const failedPod = failedPodStatus(pods);
  if (failedPod) return failedPod;
  return { state: 'pending', ...pendingReason(pods) };
}

function failedPodStatus(pods: readonly V1Pod[]): AttemptStatus | undefined {
  for (const pod of pods) {
    if (pod.status?.phase !== 'Failed') continue;
    if (pod.status.reason && LOST_REASONS.has(pod.status.reason)) {
      return {
        state: 'lost',
        reason: `pod ${pod.metadata?.name}: ${pod.status.reason}${pod.status.message ? ` (${pod.status.message})` : ''}`,
      };
    }
    if (pod.status.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True')) {
      return { state: 'lost', reason: `pod ${pod.metadata?.name} was disrupted by the cluster` };
    }
    const t = pod.status.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
    if (!t) return { state: 'failed', reason: pod.status.reason || 'the pod failed' };
    if (t.reason === 'OOMKilled') {
      return { state: 'failed', exitCode: t.exitCode, reason: 'ran out of memory (OOMKilled)' };
    }
    if (t.reason === 'StartError' || t.reason === 'ContainerCannotRun') {
      // e.g. exec: "train": executable file not found in $PATH
      const notFound = /not found|no such file/i.test(t.message ?? '');
      return {
        state: 'failed',
        exitCode: t.exitCode,
        reason: notFound
          ? `command not found: ${t.message}`
          : `the container could not start: ${t.message ?? t.reason}`,
      };
    }
    const signal = t.signal ? `signal ${t.signal}` : undefined;
    return {
      state: 'failed',
      exitCode: t.exitCode,
      reason: signal ? `killed by ${signal}` : `exit code ${t.exitCode}`,
    };
  }
  return undefined;
}

function pendingReason(pods: readonly V1Pod[]): { reason?: string } {
  for (const pod of pods) {
    const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
    if (waiting?.reason)
      return { reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
    const unscheduled = pod.status?.conditions?.find(
      (c) => c.type === 'PodScheduled' && c.status === 'False',
    );
    if (unscheduled)
      return { reason: `not scheduled: ${unscheduled.message ?? unscheduled.reason ?? ''}`.trim() };
  }
  return {};
}
