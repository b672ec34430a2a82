import { describe, expect, it } from 'vitest';
import {
  admitted,
  cpuNode,
  gpuNode,
  pending,
  project,
  queue,
  range,
  run,
  running,
  verdict,
} from './helpers.js';

describe('order within a project', () => {
  it('goes by priority, then submit time', () => {
    const config = queue([project('p', { h100: { nominal: 8 } })]);
    const d = run({
      config,
      nodes: [gpuNode('n1')],
      pending: [
        pending('low-early', 'p', { gpu: 4, at: 0 }),
        pending('low-mid', 'p', { gpu: 4, at: 5 }),
        pending('high-late', 'p', { gpu: 4, at: 10, priority: 5 }),
      ],
    });
    expect(d.admissions.map((a) => a.jobId)).toEqual(['high-late', 'low-early']);
    expect(verdict(d, 'low-mid').kind).toBe('quota');
  });
});

describe('weighted fair share across projects', () => {
  const config = queue([
    project('a', { h100: { nominal: 8 } }, { weight: 1 }),
    project('b', { h100: { nominal: 8 } }, { weight: 3 }),
  ]);
  const jobs = [
    ...range(8).map((i) => pending(`a${i}`, 'a', { gpu: 1, at: i })),
    ...range(8).map((i) => pending(`b${i}`, 'b', { gpu: 1, at: i })),
  ];

  it('splits free GPUs by weight (dominant share ÷ weight decides whose head goes next)', () => {
    const d = run({ config, nodes: [gpuNode('n1')], pending: jobs });
    expect(admitted(d)).toEqual(['a0', 'a1', 'b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
  });

  it('repays a project that got less than its share in the usage history', () => {
    // b held half the cluster on average lately: with the default history weight 4, b's key
    // starts at (0 + 4 · 0.5) / 3 = 0.67, so a takes 6 GPUs (0.75) before b's key is lower.
    const d = run({ config, nodes: [gpuNode('n1')], pending: jobs, usage: { q: { b: 0.5 } } });
    expect(admitted(d)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'b0', 'b1']);
  });

  it('counts a running job in its project’s share', () => {
    const d = run({
      config,
      nodes: [gpuNode('n1'), gpuNode('n2')],
      running: [running('r', 'b', [{ nodeId: 'n2', gpus: range(8) }])],
      pending: jobs,
    });
    // b already has 8 of 16 GPUs (share 0.5, /3 = 0.167): a takes 3 (0.1875) before b goes again.
    expect(d.admissions.slice(0, 3).map((a) => a.jobId)).toEqual(['a0', 'a1', 'a2']);
  });
});

describe('StrictFIFO and BestEffortFIFO', () => {
  const nodes = [gpuNode('h1', 'h100', 8), gpuNode('a1', 'a100', 8), cpuNode('c1')];

  it('BestEffortFIFO lets a job that needs other resources pass a head blocked on quota; StrictFIFO does not', () => {
    const jobs = [
      pending('head', 'p', { gpu: 8, at: 0 }),
      pending('same', 'p', { gpu: 1, at: 1 }),
      pending('other', 'p', { gpu: 1, type: 'a100', at: 2 }),
    ];
    const best = run({
      config: queue([project('p', { h100: { nominal: 8 }, a100: { nominal: 8 } })]),
      nodes,
      pending: jobs,
      running: [running('r', 'p', [{ nodeId: 'h1', gpus: [0] }])],
    });
    expect(admitted(best)).toEqual(['other']);
    expect(verdict(best, 'head').kind).toBe('quota');
    // 'same' would take h100 quota the head waits for.
    expect(verdict(best, 'same')).toMatchObject({
      kind: 'hold',
      reason: 'held so as not to delay job head, which waits for the same quota',
    });
    const strict = run({
      config: queue([
        project('p', { h100: { nominal: 8 }, a100: { nominal: 8 } }, { queueingStrategy: 'StrictFIFO' }),
      ]),
      nodes,
      pending: jobs,
      running: [running('r', 'p', [{ nodeId: 'h1', gpus: [0] }])],
    });
    expect(admitted(strict)).toEqual([]);
    expect(verdict(strict, 'other')).toMatchObject({
      kind: 'fifo',
      reason: 'StrictFIFO: waiting behind job head',
    });
  });

  it('BestEffortFIFO backfills around a head blocked on nodes; StrictFIFO does not', () => {
    const busy = running('r', 'p', [{ nodeId: 'h1', gpus: [0, 1, 2, 3] }], { runtime: 3600 });
    const jobs = [
      pending('head', 'p', { gpu: 8, at: 0, runtime: 600 }),
      pending('cpu', 'p', { gpu: 0, cpu: 4, at: 1, runtime: 7200 }),
      pending('short', 'p', { gpu: 2, at: 2, runtime: 1800 }),
      pending('long', 'p', { gpu: 2, at: 3, runtime: 7200 }),
      pending('forever', 'p', { gpu: 2, at: 4 }),
    ];
    const config = queue([project('p', { h100: { nominal: 16 } })]);
    const best = run({ config, nodes, running: [busy], pending: jobs });
    // h1 is reserved for the head from t = 3600 s: a 30-min job fits before, longer ones do not.
    expect(admitted(best)).toEqual(['cpu', 'short']);
    expect(verdict(best, 'head').reason).toBe(
      'waiting for a node with 8 GPUs of type h100, 1 CPU and 1 GiB of memory free; reserved h1 for it, expected at 1970-01-01T01:00:00.000Z',
    );
    expect(verdict(best, 'long')).toMatchObject({
      kind: 'hold',
      reason: 'held so as not to delay job head (nodes reserved for it)',
    });
    expect(verdict(best, 'forever').kind).toBe('hold');
    const strict = run({
      config: queue([project('p', { h100: { nominal: 16 } }, { queueingStrategy: 'StrictFIFO' })]),
      nodes,
      running: [busy],
      pending: jobs,
    });
    expect(admitted(strict)).toEqual([]);
  });
});

describe('determinism', () => {
  it('gives the same decision whatever order the snapshot lists things in', () => {
    const config = queue([
      project('a', { h100: { nominal: 12 } }),
      project('b', { h100: { nominal: 12 } }, { weight: 2 }),
    ]);
    const nodes = [gpuNode('n1'), gpuNode('n2'), gpuNode('n3', 'h100', 4)];
    const runs = [
      running('r1', 'a', [{ nodeId: 'n1', gpus: [0, 1] }]),
      running('r2', 'b', [{ nodeId: 'n3', gpus: [3] }]),
    ];
    const jobs = range(30).map((i) =>
      pending(`j${i}`, i % 3 === 0 ? 'a' : 'b', { gpu: 1 + (i % 4), at: i % 7, priority: i % 2 }),
    );
    const d1 = run({ config, nodes, running: runs, pending: jobs });
    const d2 = run({
      config,
      nodes: [...nodes].reverse(),
      running: [...runs].reverse(),
      pending: [...jobs].reverse(),
    });
    expect(d2).toEqual(d1);
    expect(d1.admissions.length).toBeGreaterThan(5);
  });
});
