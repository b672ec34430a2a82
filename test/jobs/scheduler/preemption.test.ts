import { describe, expect, it } from 'vitest';
import type { RunningJob } from '../../../src/jobs/scheduler/index.js';
import { admitted, gpuNode, pending, project, queue, range, run, running, verdict } from './helpers.js';

const two = [gpuNode('n1'), gpuNode('n2')];

/** Project a holds all 16 GPUs with 1-GPU jobs a00..a15, started in that order (n1 first). */
function aHoldsAll(priority = 0): RunningJob[] {
  return range(16).map((i) =>
    running(`a${String(i).padStart(2, '0')}`, 'a', [{ nodeId: i < 8 ? 'n1' : 'n2', gpus: [i % 8] }], {
      startedAt: i * 1000,
      priority,
    }),
  );
}

describe('reclaim within the queue', () => {
  it('preempts the borrower’s most recently started jobs, on one node, to give the lender its quota back', () => {
    const config = queue([project('a', { h100: { nominal: 8 } }), project('b', { h100: { nominal: 8 } })]);
    const d = run({ config, nodes: two, running: aHoldsAll(), pending: [pending('b1', 'b', { gpu: 8 })] });
    const victims = range(8, 8).map((i) => `a${String(i).padStart(2, '0')}`);
    expect(d.preemptions.map((p) => p.jobId).sort()).toEqual(victims);
    expect(
      d.preemptions.every((p) => p.kind === 'reclaim' && p.reason === 'reclaim by project b (job b1)'),
    ).toBe(true);
    expect(d.admissions).toHaveLength(1);
    expect(d.admissions[0]).toMatchObject({
      jobId: 'b1',
      borrowing: false,
      placements: [{ nodeId: 'n2', gpus: range(8) }],
    });
    expect([...(d.admissions[0]?.waitFor ?? [])].sort()).toEqual(victims);
  });

  it('takes no more than what brings the borrower back to its nominal quota', () => {
    const config = queue([project('a', { h100: { nominal: 12 } }), project('b', { h100: { nominal: 4 } })]);
    // a holds 16 = 12 + 4 borrowed; b asks 8, of which only 4 are its own: it may not borrow by preempting.
    const tooMuch = run({
      config,
      nodes: two,
      running: aHoldsAll(),
      pending: [pending('b1', 'b', { gpu: 8 })],
    });
    expect(tooMuch.preemptions).toEqual([]);
    expect(verdict(tooMuch, 'b1').kind).toBe('quota');
    const fair = run({ config, nodes: two, running: aHoldsAll(), pending: [pending('b1', 'b', { gpu: 4 })] });
    expect(fair.preemptions.map((p) => p.jobId).sort()).toEqual(['a12', 'a13', 'a14', 'a15']);
  });

  it('with lowerPriority, only preempts borrowers of lower priority', () => {
    const config = queue([project('a', { h100: { nominal: 8 } }), project('b', { h100: { nominal: 8 } })], {
      preemption: { reclaimWithinCohort: 'lowerPriority' },
    });
    const equal = run({
      config,
      nodes: two,
      running: aHoldsAll(5),
      pending: [pending('b1', 'b', { gpu: 1, priority: 5 })],
    });
    expect(equal.preemptions).toEqual([]);
    const higher = run({
      config,
      nodes: two,
      running: aHoldsAll(5),
      pending: [pending('b1', 'b', { gpu: 1, priority: 6 })],
    });
    expect(higher.preemptions.map((p) => p.jobId)).toEqual(['a15']);
  });

  it('never preempts when the policy says never', () => {
    const config = queue([
      project('a', { h100: { nominal: 8 } }),
      project('b', { h100: { nominal: 8 } }, { preemption: { reclaimWithinCohort: 'never' } }),
    ]);
    const d = run({ config, nodes: two, running: aHoldsAll(), pending: [pending('b1', 'b', { gpu: 1 })] });
    expect(d.preemptions).toEqual([]);
    expect(verdict(d, 'b1').reason).toBe(
      'waiting for 1 GPU of type h100; project quota 8 used 0, queue has 0 to lend',
    );
  });
});

describe('priority within a project', () => {
  const config = queue([
    project('p', { h100: { nominal: 16 } }, { preemption: { withinProject: 'lowerPriority' } }),
  ]);

  it('preempts the fewest, lowest-priority, most recently started jobs', () => {
    const one = [gpuNode('n1')];
    const jobs = [
      running('old-low', 'p', [{ nodeId: 'n1', gpus: [0, 1] }], { priority: 0, startedAt: 0 }),
      running('new-low', 'p', [{ nodeId: 'n1', gpus: [2, 3] }], { priority: 0, startedAt: 5 }),
      running('mid', 'p', [{ nodeId: 'n1', gpus: [4, 5] }], { priority: 3, startedAt: 9 }),
      running('high', 'p', [{ nodeId: 'n1', gpus: [6, 7] }], { priority: 9, startedAt: 9 }),
    ];
    const d = run({
      config,
      nodes: one,
      running: jobs,
      pending: [pending('urgent', 'p', { gpu: 2, priority: 5 })],
    });
    expect(d.preemptions).toEqual([
      {
        jobId: 'new-low',
        forJobId: 'urgent',
        kind: 'priority',
        reason: 'higher priority job urgent (priority 5 > 0)',
      },
    ]);
    expect(d.admissions[0]).toMatchObject({
      jobId: 'urgent',
      placements: [{ gpus: [2, 3] }],
      waitFor: ['new-low'],
    });
    const four = run({
      config,
      nodes: one,
      running: jobs,
      pending: [pending('urgent', 'p', { gpu: 6, priority: 5 })],
    });
    expect(four.preemptions.map((p) => p.jobId)).toEqual(['new-low', 'old-low', 'mid']);
    const never = run({
      config,
      nodes: one,
      running: jobs,
      pending: [pending('meek', 'p', { gpu: 2, priority: 0 })],
    });
    expect(never.preemptions).toEqual([]);
  });

  it('prefers one big victim to many small ones, and preempts a gang whole', () => {
    const jobs = [
      running('gang', 'p', [
        { nodeId: 'n1', gpus: [0, 1, 2, 3] },
        { nodeId: 'n2', gpus: [0, 1, 2, 3] },
      ]),
      running('s1', 'p', [{ nodeId: 'n1', gpus: [4, 5, 6, 7] }], { startedAt: 10 }),
      ...range(4).map((i) => running(`t${i}`, 'p', [{ nodeId: 'n2', gpus: [4 + i] }], { startedAt: 20 })),
    ];
    const d = run({
      config,
      nodes: two,
      running: jobs,
      pending: [
        pending('big', 'p', { gpu: 8, priority: 1 }),
        pending('later', 'p', { gpu: 4, priority: 0, at: 1 }),
      ],
    });
    // n1 needs two victims (gang, s1), n2 five (gang, t0..t3): n1 it is.
    expect(d.preemptions.map((p) => p.jobId).sort()).toEqual(['gang', 's1']);
    expect(d.admissions.map((a) => a.jobId)).toEqual(['big']);
    expect(d.admissions[0]?.placements).toEqual([
      { nodeId: 'n1', cpu: 1, memory: 1024 ** 3, gpus: range(8) },
    ]);
    // The gang's GPUs on n2 stay busy until it has stopped: nothing else is placed there now.
    expect(verdict(d, 'later').kind).toBe('capacity');
  });

  it('does not choose jobs already being preempted, whose GPUs stay busy', () => {
    const jobs = [running('dying', 'p', [{ nodeId: 'n1', gpus: range(8) }], { terminating: true })];
    const d = run({
      config,
      nodes: [gpuNode('n1')],
      running: jobs,
      pending: [pending('j', 'p', { gpu: 1, priority: 9 })],
    });
    expect(d.preemptions).toEqual([]);
    expect(admitted(d)).toEqual([]);
    expect(verdict(d, 'j').kind).toBe('capacity');
  });

  it('releases the quota of a job being preempted at once, but not its GPUs', () => {
    const small = queue([project('p', { h100: { nominal: 8 } })]);
    const jobs = [running('dying', 'p', [{ nodeId: 'n1', gpus: range(8) }], { terminating: true })];
    const d = run({ config: small, nodes: two, running: jobs, pending: [pending('next', 'p', { gpu: 8 })] });
    expect(d.admissions.map((a) => [a.jobId, a.placements[0]?.nodeId])).toEqual([['next', 'n2']]);
  });
});
