// Local executor details outside the shared suite: nvidia-smi parsing (sample output recorded
// from real machines), GPU type names, input checks, and the torchrun environment.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpuTypeOf, parseNvidiaSmi } from '../../../src/jobs/executors/gpu-discovery.js';
import { LocalExecutor } from '../../../src/jobs/executors/local.js';
import { buildProcessEnv } from '../../../src/jobs/executors/process-env.js';
import { torchrunEnv } from '../../../src/jobs/executors/torchrun-env.js';
import type { LaunchRequest } from '../../../src/jobs/types.js';
import { conformanceWorkRoot } from './conformance.js';

const root = conformanceWorkRoot('falaj-local-unit-');

const req = (over: Partial<LaunchRequest['spec']> = {}, env: Record<string, string> = {}): LaunchRequest => ({
  jobId: 'j',
  attempt: 1,
  spec: { command: ['true'], queue: 'q', resources: { cpu: 1, memory: 0, gpu: 0 }, ...over },
  placements: [],
  env,
  workDir: path.join(root, `w-${Math.random()}`),
});

describe('nvidia-smi parsing', () => {
  it('reads index, model, type and memory from csv,noheader output', () => {
    const sample = [
      '0, NVIDIA H100 80GB HBM3, 81559 MiB',
      '1, NVIDIA H100 80GB HBM3, 81559 MiB',
      '2, NVIDIA A100-SXM4-40GB, 40960 MiB',
      '3, NVIDIA GeForce RTX 4090, 24564 MiB',
      '4, Tesla V100-SXM2-16GB, 16384 MiB',
      '',
    ].join('\n');
    expect(parseNvidiaSmi(sample)).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', type: 'h100', memoryMiB: 81559 },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', type: 'h100', memoryMiB: 81559 },
      { index: 2, name: 'NVIDIA A100-SXM4-40GB', type: 'a100', memoryMiB: 40960 },
      { index: 3, name: 'NVIDIA GeForce RTX 4090', type: 'rtx-4090', memoryMiB: 24564 },
      { index: 4, name: 'Tesla V100-SXM2-16GB', type: 'v100', memoryMiB: 16384 },
    ]);
  });

  it('reads the output of a real H200 machine (recorded by the device check)', () => {
    expect(parseNvidiaSmi('0, NVIDIA H200, 143771 MiB\n')).toEqual([
      { index: 0, name: 'NVIDIA H200', type: 'h200', memoryMiB: 143771 },
    ]);
  });

  it('skips lines that are not GPU rows (driver errors, blank lines)', () => {
    const sample = 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n\n';
    expect(parseNvidiaSmi(sample)).toEqual([]);
    expect(parseNvidiaSmi('0, NVIDIA L4, [N/A]\n')).toEqual([
      { index: 0, name: 'NVIDIA L4', type: 'l4', memoryMiB: undefined },
    ]);
  });

  it('names types the way job specs write them', () => {
    expect(gpuTypeOf('NVIDIA H100 NVL')).toBe('h100');
    expect(gpuTypeOf('NVIDIA RTX A6000')).toBe('rtx-a6000');
    expect(gpuTypeOf('NVIDIA L40S')).toBe('l40s');
    expect(gpuTypeOf('NVIDIA')).toBe('gpu');
  });

  it('finds no GPUs (and no error) where nvidia-smi is missing', async () => {
    const e = new LocalExecutor({ stateDir: path.join(root, 's'), nvidiaSmi: '/nonexistent/nvidia-smi' });
    const [node] = await e.discover();
    expect(node?.gpus).toEqual({});
    expect(node?.cpu).toBeGreaterThan(0);
  });
});

describe('local executor input checks', () => {
  const e = new LocalExecutor({ stateDir: path.join(root, 'state') });

  it('refuses multi-node jobs and empty commands with clear errors', async () => {
    await expect(e.start(req({ distributed: { nodes: 2, procsPerNode: 1 } }))).rejects.toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
      message: expect.stringMatching(/one machine/),
    });
    await expect(e.start(req({ command: [] }))).rejects.toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT' });
    await expect(e.start(req({}, { 'BAD NAME': 'x' }))).rejects.toMatchObject({
      code: 'FALAJ_INVALID_ARGUMENT',
    });
  });

  it('rejects ids that could escape the state directory', async () => {
    await expect(e.status('../../etc/passwd')).rejects.toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT' });
    await expect(e.status('nosuch.1.123')).rejects.toMatchObject({ code: 'FALAJ_NOT_FOUND' });
  });
});

describe('process environment', () => {
  it('layers inherited variables, spec env and the request env, in that order', () => {
    const env = buildProcessEnv(
      req({ env: { A: 'spec', B: 'spec' } }, { B: 'req', FALAJ_TOKEN: 't' }),
      ['PATH', 'SECRET'],
      {
        PATH: '/bin',
        SECRET: undefined,
        DATABASE_URL: 'postgres://x',
      },
    );
    expect(env).toEqual({ PATH: '/bin', A: 'spec', B: 'req', FALAJ_TOKEN: 't' });
  });

  it('gives torchrun variables per rank', () => {
    expect(
      torchrunEnv({
        masterAddr: 'h0',
        masterPort: 29500,
        nodes: 2,
        procsPerNode: 4,
        nodeRank: 1,
        localRank: 2,
      }),
    ).toEqual({
      MASTER_ADDR: 'h0',
      MASTER_PORT: '29500',
      WORLD_SIZE: '8',
      RANK: '6',
      LOCAL_RANK: '2',
      LOCAL_WORLD_SIZE: '4',
      GROUP_RANK: '1',
      NODE_RANK: '1',
    });
  });
});
