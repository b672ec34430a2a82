import { describe, expect, it } from 'vitest';
import { admitted, gpuNode, pending, project, queue, range, run, running, verdict } from './helpers.js';

// Kueue's cohort model with exact expected admissions: projects borrow each other's unused
// nominal quota, within borrowing limits, and only what lending limits let others lend.
const nodes = [gpuNode('n1'), gpuNode('n2'), gpuNode('n3')];
const ones = (projectName: string, n: number, from = 0) =>
  range(n, from).map((i) =>
    pending(`${projectName}${String(i).padStart(2, '0')}`, projectName, { gpu: 1, at: i }),
  );

describe('quota and borrowing', () => {
  it('lets a project borrow the idle nominal quota of the others, and no more', () => {
    const config = queue([project('a', { h100: { nominal: 8 } }), project('b', { h100: { nominal: 8 } })]);
    const d = run({ config, nodes, pending: ones('a', 20) });
    expect(admitted(d)).toEqual(ones('a', 16).map((j) => j.id));
    // The first 8 fit the nominal quota, the next 8 are borrowed (and so reclaimable).
    expect(d.admissions.filter((a) => a.borrowing).length).toBe(8);
    expect(d.admissions.slice(0, 8).every((a) => !a.borrowing)).toBe(true);
    const v = verdict(d, 'a16');
    expect(v.kind).toBe('quota');
    expect(v.reason).toBe('waiting for 1 GPU of type h100; project quota 8 used 16, queue has 0 to lend');
  });

  it('stops borrowing at the borrowing limit', () => {
    const config = queue([
      project('a', { h100: { nominal: 8, borrowingLimit: 2 } }),
      project('b', { h100: { nominal: 8 } }),
    ]);
    const d = run({ config, nodes, pending: ones('a', 20) });
    expect(d.admissions).toHaveLength(10);
    expect(verdict(d, 'a10').reason).toBe(
      'waiting for 1 GPU of type h100; project quota 8 used 10, borrowing limit 2 reached',
    );
  });

  it('lends only up to the lending limit, and the lender keeps the rest for itself', () => {
    const config = queue([
      project('a', { h100: { nominal: 8 } }),
      project('b', { h100: { nominal: 8, lendingLimit: 2 } }),
    ]);
    const first = run({ config, nodes, pending: ones('a', 20) });
    expect(first.admissions).toHaveLength(10);
    // b then asks for its whole nominal quota: the 6 it never lent are there without preemption.
    const holding = first.admissions.map((a, i) =>
      running(
        a.jobId,
        'a',
        a.placements.map((p) => ({ nodeId: p.nodeId, gpus: [...p.gpus] })),
        { startedAt: i },
      ),
    );
    const config2 = queue([
      project('a', { h100: { nominal: 8 } }),
      project(
        'b',
        { h100: { nominal: 8, lendingLimit: 2 } },
        { preemption: { reclaimWithinCohort: 'never' } },
      ),
    ]);
    const second = run({ config: config2, nodes, running: holding, pending: ones('b', 8) });
    expect(second.admissions).toHaveLength(6);
    expect(verdict(second, 'b06').reason).toBe(
      'waiting for 1 GPU of type h100; project quota 8 used 6, queue has 0 to lend',
    );
  });

  it('counts running jobs against quota and keeps queues apart', () => {
    const config = {
      queues: [
        { name: 'q', projects: [project('a', { h100: { nominal: 4 } })] },
        { name: 'other', projects: [project('a', { h100: { nominal: 4 } })] },
      ],
    };
    const d = run({
      config,
      nodes,
      running: [running('r1', 'a', [{ nodeId: 'n1', gpus: [0, 1, 2] }])],
      pending: [
        pending('p1', 'a', { gpu: 1 }),
        pending('p2', 'a', { gpu: 1 }),
        pending('p3', 'a', { gpu: 4, queue: 'other' }),
      ],
    });
    expect(admitted(d)).toEqual(['p1', 'p3']);
    expect(verdict(d, 'p2').reason).toBe(
      'waiting for 1 GPU of type h100; project quota 4 used 4, queue has 0 to lend',
    );
  });

  it('marks over-quota-forever and unlisted resources impossible, but waits on quota in use', () => {
    const config = queue([
      project('a', { h100: { nominal: 8, borrowingLimit: 4 } }),
      project('b', { h100: { nominal: 8 } }),
    ]);
    const d = run({
      config,
      nodes,
      running: [running('r1', 'a', [{ nodeId: 'n1', gpus: range(8) }])],
      pending: [
        pending('big', 'a', { gpu: 8, nodes: 2 }),
        pending('a100', 'a', { gpu: 1, type: 'a100' }),
        pending('fits-later', 'a', { gpu: 8 }),
      ],
    });
    expect(verdict(d, 'big')).toMatchObject({
      kind: 'impossible',
      impossible: true,
      reason:
        'asks for 16 GPUs of type h100 but project a in queue q can hold at most 12 (nominal quota plus what it may borrow)',
    });
    expect(verdict(d, 'a100')).toMatchObject({
      impossible: true,
      reason: 'no node or quota has GPUs of type a100',
    });
    expect(verdict(d, 'fits-later')).toMatchObject({ kind: 'quota', impossible: false });
  });

  it('names a project without CPU quota, and an unknown queue or project, as impossible', () => {
    const config = queue([
      { project: 'nocpu', gpus: { h100: { nominal: 8 } } },
      project('a', { h100: { nominal: 8 } }),
    ]);
    const d = run({
      config,
      nodes,
      pending: [
        pending('j1', 'nocpu', { gpu: 1 }),
        pending('j2', 'ghost', { gpu: 1 }),
        pending('j3', 'a', { gpu: 1, queue: 'nowhere' }),
      ],
    });
    expect(verdict(d, 'j1').reason).toBe('project nocpu in queue q has no quota for CPU');
    expect(verdict(d, 'j2').reason).toBe('project ghost has no quota in queue q');
    expect(verdict(d, 'j3').reason).toBe('queue nowhere does not exist');
    expect(d.pending.every((v) => v.impossible)).toBe(true);
  });

  it('takes the first GPU type in the project order that has quota when a job names none', () => {
    const nodesAB = [gpuNode('h', 'h100', 4), gpuNode('a', 'a100', 4)];
    const config = queue([project('p', { a100: { nominal: 2 }, h100: { nominal: 4 } })]);
    const d = run({
      config,
      nodes: nodesAB,
      pending: range(5).map((i) => pending(`j${i}`, 'p', { gpu: 1, type: null, at: i })),
    });
    expect(d.admissions.map((a) => a.gpuType)).toEqual(['a100', 'a100', 'h100', 'h100', 'h100']);
  });
});
