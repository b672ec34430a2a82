import { describe, expect, it } from 'vitest';
import {
  admitted,
  cpuNode,
  GiB,
  gpuNode,
  pending,
  project,
  queue,
  range,
  run,
  running,
  verdict,
} from './helpers.js';

const config = queue([project('p', { h100: { nominal: 64 }, a100: { nominal: 64 } })]);

describe('placement', () => {
  it('packs GPUs best-fit: the fullest node that still fits', () => {
    const nodes = [gpuNode('n1'), gpuNode('n2'), gpuNode('n3')];
    const d = run({
      config,
      nodes,
      running: [
        running('r1', 'p', [{ nodeId: 'n1', gpus: [0, 1] }]), // n1: 6 free
        running('r2', 'p', [{ nodeId: 'n2', gpus: range(6) }]), // n2: 2 free
      ],
      pending: [
        pending('two', 'p', { gpu: 2, at: 0 }),
        pending('six', 'p', { gpu: 6, at: 1 }),
        pending('eight', 'p', { gpu: 8, at: 2 }),
      ],
    });
    const where = Object.fromEntries(
      d.admissions.map((a) => [a.jobId, a.placements.map((p) => `${p.nodeId}:${p.gpus.join(',')}`)]),
    );
    expect(where).toEqual({ two: ['n2:6,7'], six: ['n1:2,3,4,5,6,7'], eight: ['n3:0,1,2,3,4,5,6,7'] });
  });

  it('respects the GPU type and never hands out a GPU twice', () => {
    const nodes = [gpuNode('h', 'h100', 4), gpuNode('a', 'a100', 4)];
    const d = run({
      config,
      nodes,
      pending: range(6).map((i) =>
        pending(`j${i}`, 'p', { gpu: 1, type: i % 2 === 0 ? 'a100' : 'h100', at: i }),
      ),
    });
    expect(d.admissions).toHaveLength(6);
    for (const a of d.admissions) expect(a.placements[0]?.nodeId).toBe(a.gpuType === 'a100' ? 'a' : 'h');
    const used = d.admissions.flatMap((a) =>
      a.placements.flatMap((p) => p.gpus.map((g) => `${p.nodeId}#${g}`)),
    );
    expect(new Set(used).size).toBe(used.length);
  });

  it('places a gang on distinct nodes, all members or none', () => {
    const nodes = [gpuNode('n1'), gpuNode('n2'), gpuNode('n3')];
    const busy = running('r', 'p', [{ nodeId: 'n3', gpus: [0] }]);
    const d = run({
      config,
      nodes,
      running: [busy],
      pending: [
        pending('gang3', 'p', { gpu: 8, nodes: 3, at: 0 }),
        pending('gang2', 'p', { gpu: 8, nodes: 2, at: 1, priority: 1 }),
      ],
    });
    // (Were gang3 first, gang2 would wait: starting it would delay gang3, see backfill.)
    expect(admitted(d)).toEqual(['gang2']);
    expect(d.admissions[0]?.placements.map((p) => p.nodeId).sort()).toEqual(['n1', 'n2']);
    expect(verdict(d, 'gang3').reason).toMatch(
      /^waiting for 3 nodes each with 8 GPUs of type h100, 1 CPU and 1 GiB of memory free/,
    );
  });

  it('flags jobs no node can ever hold as impossible, with the reason', () => {
    const nodes = [gpuNode('n1'), gpuNode('n2'), gpuNode('n3')];
    const d = run({
      config,
      nodes,
      pending: [
        pending('sixteen', 'p', { gpu: 16 }),
        pending('gang4', 'p', { gpu: 8, nodes: 4 }),
        pending('cpus', 'p', { gpu: 1, cpu: 100 }),
      ],
    });
    expect(d.pending.every((v) => v.impossible && v.kind === 'impossible')).toBe(true);
    expect(verdict(d, 'sixteen').reason).toBe(
      'no node can ever fit 16 GPUs of type h100, 1 CPU and 1 GiB of memory (the most any node has is 8 GPUs of type h100)',
    );
    expect(verdict(d, 'gang4').reason).toBe(
      'needs 4 nodes that each fit 8 GPUs of type h100, 1 CPU and 1 GiB of memory; the cluster has 3',
    );
    expect(verdict(d, 'cpus').reason).toBe(
      'no node can ever fit 1 GPU of type h100, 100 CPUs and 1 GiB of memory',
    );
  });

  it('puts CPU-only jobs on CPU nodes, and on a lone GPU machine leaves each free GPU a floor', () => {
    const cfg = queue([project('p', { h100: { nominal: 8 } })]);
    const mixed = run({
      config: cfg,
      nodes: [gpuNode('g'), cpuNode('c', 32)],
      pending: [pending('cpu', 'p', { cpu: 8 })],
    });
    expect(mixed.admissions[0]?.placements[0]?.nodeId).toBe('c');
    const full = run({
      config: cfg,
      nodes: [gpuNode('g'), cpuNode('c', 32)],
      running: [running('busy', 'p', [{ nodeId: 'c', gpus: [] }])],
      pending: [pending('cpu', 'p', { cpu: 32 })],
    });
    // The CPU node could take it once free: it waits rather than eating the GPU node's CPUs.
    expect(verdict(full, 'cpu').kind).toBe('capacity');
    // One machine, 64 CPUs, 8 GPUs: each free GPU keeps 1 CPU and 4 GiB. With 6 GPUs free and
    // 63 CPUs left, CPU-only work may take 57: 50, then not 8 more.
    const lone = run({
      config: cfg,
      nodes: [gpuNode('g')],
      running: [running('r', 'p', [{ nodeId: 'g', gpus: [0, 1] }])],
      pending: [
        pending('fits', 'p', { cpu: 50, memoryGiB: 1, at: 0 }),
        pending('too-big', 'p', { cpu: 8, at: 1 }),
      ],
    });
    expect(admitted(lone)).toEqual(['fits']);
    expect(verdict(lone, 'too-big').kind).toBe('capacity');
    expect(lone.admissions[0]?.placements[0]).toEqual({ nodeId: 'g', cpu: 50, memory: GiB, gpus: [] });
    // On the idle machine the most a CPU-only job can have is 64 − 8 CPUs: more is impossible.
    const huge = run({ config: cfg, nodes: [gpuNode('g')], pending: [pending('huge', 'p', { cpu: 57 })] });
    expect(verdict(huge, 'huge').reason).toBe('no node can ever fit 57 CPUs and 1 GiB of memory');
  });
});
