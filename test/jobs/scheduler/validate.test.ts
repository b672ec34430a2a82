import { describe, expect, it } from 'vitest';
import type { PendingJob, SchedulerConfig, SchedulerSnapshot } from '../../../src/jobs/scheduler/index.js';
import {
  pendingJobFromSpec,
  schedule,
  validateConfig,
  validateJob,
} from '../../../src/jobs/scheduler/index.js';
import { gpuNode, pending, project, queue } from './helpers.js';

// Bad config and malformed jobs fail with FALAJ_INVALID_ARGUMENT naming the field, before any
// decision is taken.
function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    const e = err as { code?: string; details?: { field?: string } };
    expect(e.code).toBe('FALAJ_INVALID_ARGUMENT');
    return e.details?.field;
  }
  return undefined;
}

const good = queue([project('a', { h100: { nominal: 8 } })]);
const base: SchedulerSnapshot = { now: 0, config: good, nodes: [gpuNode('n1')], running: [], pending: [] };

describe('validation', () => {
  it.each([
    [
      'negative quota',
      queue([project('a', { h100: { nominal: -1 } })]),
      'queues[0].projects[0].gpus.h100.nominal',
    ],
    [
      'negative borrowing limit',
      queue([project('a', { h100: { nominal: 1, borrowingLimit: -2 } })]),
      'queues[0].projects[0].gpus.h100.borrowingLimit',
    ],
    [
      'lending more than nominal',
      queue([project('a', { h100: { nominal: 1, lendingLimit: 2 } })]),
      'queues[0].projects[0].gpus.h100.lendingLimit',
    ],
    ['zero weight', queue([project('a', {}, { weight: 0 })]), 'queues[0].projects[0].weight'],
    [
      'unknown strategy',
      queue([project('a', {})], { queueingStrategy: 'LIFO' as never }),
      'queues[0].queueingStrategy',
    ],
    [
      'unknown reclaim policy',
      queue([project('a', {}, { preemption: { reclaimWithinCohort: 'always' as never } })]),
      'queues[0].projects[0].preemption.reclaimWithinCohort',
    ],
    ['project twice', queue([project('a', {}), project('a', {})]), 'queues[0].projects[1].project'],
    ['queue twice', { queues: [...good.queues, ...good.queues] } as SchedulerConfig, 'queues[1].name'],
    [
      'NaN CPU quota',
      queue([{ project: 'a', cpu: { nominal: Number.NaN } }]),
      'queues[0].projects[0].cpu.nominal',
    ],
    ['negative half-life', { ...good, fairShare: { halfLifeSeconds: -5 } }, 'fairShare.halfLifeSeconds'],
    ['fractional reservations', { ...good, backfill: { maxReservations: 1.5 } }, 'backfill.maxReservations'],
  ])('rejects a config with %s', (_, config, field) => {
    expect(fieldOf(() => validateConfig(config))).toBe(field);
    expect(fieldOf(() => schedule({ ...base, config }))).toBe(field);
  });

  it.each([
    [
      'negative CPUs',
      { ...pending('j', 'a'), resources: { cpu: -1, memory: 0, gpu: 1 } },
      'pending[0].resources.cpu',
    ],
    [
      'fractional GPUs',
      { ...pending('j', 'a'), resources: { cpu: 1, memory: 0, gpu: 0.5 } },
      'pending[0].resources.gpu',
    ],
    [
      'no resources',
      { ...pending('j', 'a'), resources: { cpu: 0, memory: 0, gpu: 0 } },
      'pending[0].resources',
    ],
    ['zero nodes', { ...pending('j', 'a'), nodes: 0 }, 'pending[0].nodes'],
    ['no submit time', { ...pending('j', 'a'), submittedAt: Number.NaN }, 'pending[0].submittedAt'],
  ])('rejects a pending job with %s', (_, job, field) => {
    expect(fieldOf(() => schedule({ ...base, pending: [job as PendingJob] }))).toBe(field);
  });

  it('rejects duplicate ids, bad nodes and overlapping GPU indices', () => {
    expect(fieldOf(() => schedule({ ...base, pending: [pending('j', 'a'), pending('j', 'a')] }))).toBe(
      'pending[1].id',
    );
    expect(fieldOf(() => schedule({ ...base, nodes: [gpuNode('n1'), gpuNode('n1')] }))).toBe(
      'nodes[1].nodeId',
    );
    expect(
      fieldOf(() =>
        schedule({ ...base, nodes: [{ nodeId: 'x', cpu: 1, memory: 1, gpus: { h100: [0], a100: [0] } }] }),
      ),
    ).toBe('nodes[0].gpus.a100');
    expect(fieldOf(() => schedule({ ...base, nodes: [{ nodeId: 'x', cpu: -1, memory: 1, gpus: {} }] }))).toBe(
      'nodes[0].cpu',
    );
  });

  it('checks a job against the config at submission: queue and project must exist', () => {
    expect(fieldOf(() => validateJob(good, pending('j', 'a', { queue: 'nope' })))).toBe('job.queue');
    expect(fieldOf(() => validateJob(good, pending('j', 'ghost')))).toBe('job.project');
    expect(fieldOf(() => validateJob(good, pending('j', 'a', { gpu: 1 })))).toBeUndefined();
  });

  it('turns a JobSpec into a pending job', () => {
    const job = pendingJobFromSpec(
      'j1',
      'a',
      {
        command: ['python', 'train.py'],
        resources: { cpu: 8, memory: 64, gpu: 8, gpuType: 'h100' },
        queue: 'q',
        priority: 3,
        maxRuntimeSeconds: 3600,
        distributed: { nodes: 4, procsPerNode: 8 },
      },
      1000,
    );
    expect(job).toEqual({
      id: 'j1',
      queue: 'q',
      project: 'a',
      priority: 3,
      submittedAt: 1000,
      resources: { cpu: 8, memory: 64, gpu: 8, gpuType: 'h100' },
      nodes: 4,
      maxRuntimeSeconds: 3600,
    });
  });
});
