import { describe, expect, it } from 'vitest';
import type { JobRow } from '../../../src/jobs/job-store.js';
import { launchGroups, type Prepared } from '../../../src/jobs/loop/launch-groups.js';
import type { JobSpec } from '../../../src/jobs/types.js';

const MiB = 1024 * 1024;
const prepared = (id: string, spec: Partial<JobSpec> = {}, env: Record<string, string> = {}): Prepared => ({
  admitted: { id } as JobRow,
  req: {
    jobId: id,
    attempt: 1,
    spec: { command: ['train'], queue: 'default', resources: { cpu: 1, memory: 64 * MiB, gpu: 0 }, ...spec },
    placements: [],
    env,
    workDir: `/w/${id}`,
  },
});
const ids = (groups: Prepared[][]) => groups.map((g) => g.map((p) => p.req.jobId));

describe('launch groups', () => {
  it('puts alike attempts (differing in env and name only) in one group, in admission order', () => {
    const list = [
      prepared('a', { name: 'trial-0' }, { FALAJ_TRAIN_PARAMS: '{"x":1}' }),
      prepared('other', { command: ['eval'] }),
      prepared('b', { name: 'trial-1' }, { FALAJ_TRAIN_PARAMS: '{"x":2}' }),
      prepared('c', { name: 'trial-2' }),
    ];
    expect(ids(launchGroups(list, true))).toEqual([['a', 'b', 'c'], ['other']]);
  });

  it('keeps apart what an array cannot share: resources, workdir, time limit; gangs never group', () => {
    const list = [
      prepared('a'),
      prepared('more-cpu', { resources: { cpu: 2, memory: 64 * MiB, gpu: 0 } }),
      prepared('gpu-type', { resources: { cpu: 1, memory: 64 * MiB, gpu: 0, gpuType: 'h100' } }),
      prepared('elsewhere', { workdir: '/tmp' }),
      prepared('deadline', { maxRuntimeSeconds: 60 }),
      prepared('gang1', { distributed: { nodes: 1, procsPerNode: 2 } }),
      prepared('gang2', { distributed: { nodes: 1, procsPerNode: 2 } }),
    ];
    expect(ids(launchGroups(list, true))).toEqual(list.map((p) => [p.req.jobId]));
  });

  it('starts every attempt alone where the executor has no arrays', () => {
    const list = [prepared('a'), prepared('b')];
    expect(ids(launchGroups(list, false))).toEqual([['a'], ['b']]);
  });
});
