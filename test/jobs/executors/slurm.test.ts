// The Slurm executor against the conformance suite on a real one-node Slurm cluster
// (scripts/ensure-slurm.sh starts one). Without a cluster the file skips and says why, except
// under FALAJ_TEST_REQUIRE_SLURM=1 (CI), where a missing cluster fails.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SlurmExecutor } from '../../../src/jobs/executors/slurm.js';
import type { AttemptStatus, LaunchRequest } from '../../../src/jobs/types.js';
import { SLURM_MISSING } from '../../support/slurm.js';
import { conformanceWorkRoot, executorConformance } from './conformance.js';

const missing = SLURM_MISSING;

if (missing) {
  describe('executor conformance: slurm', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
} else {
  // /tmp is shared by the only node (this machine); a real cluster needs a shared filesystem.
  const root = conformanceWorkRoot('falaj-slurm-exec-');
  executorConformance({
    name: 'slurm',
    create: () => new SlurmExecutor({ cancelWaitSeconds: 60 }),
    workRoot: root,
    unknownExternalId: '99999999',
    skip: {
      'cuda-visible-devices':
        'Slurm sets CUDA_VISIBLE_DEVICES itself from --gres; the placement indices are not used',
      'max-runtime':
        '--time has minute granularity and Slurm checks it about once a minute: the case would take minutes',
    },
  });
}

describe.skipIf(missing !== undefined)('slurm executor on the real cluster', () => {
  const root = missing ? '' : conformanceWorkRoot('falaj-slurm-extra-');
  const executor = new SlurmExecutor();
  const MiB = 1024 * 1024;
  const request = (name: string, command: string[], env: Record<string, string> = {}): LaunchRequest => ({
    jobId: `extra-${name}`,
    attempt: 1,
    spec: { command, queue: 'q', resources: { cpu: 1, memory: 32 * MiB, gpu: 0 } },
    placements: [],
    env,
    workDir: path.join(root, name),
  });
  const ended = async (id: string): Promise<AttemptStatus> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await executor.status(id);
      if (s.state !== 'pending' && s.state !== 'running') return s;
      if (Date.now() > deadline) throw new Error(`${id} still ${s.state}`);
      await sleep(200);
    }
  };

  it('shows a job cancelled by hand (scancel outside Falaj) as cancelled, saying so', async () => {
    const { externalId } = await executor.start(request('by-hand', ['sleep', '300']));
    const deadline = Date.now() + 60_000;
    while ((await executor.status(externalId)).state === 'pending' && Date.now() < deadline) await sleep(200);
    execFileSync('scancel', [externalId]);
    expect(await ended(externalId)).toMatchObject({ state: 'cancelled', reason: 'cancelled outside Falaj' });
  });

  it('runs many small attempts as one job array, each with its own env, log and state', async () => {
    const reqs = [0, 1, 2].map((i) =>
      request(`array-${i}`, ['sh', '-c', 'echo "run=$FALAJ_RUN_ID shared=$SHARED"; exit $CODE'], {
        FALAJ_RUN_ID: `trial-${i}`,
        SHARED: 'same for all',
        CODE: i === 2 ? '5' : '0',
      }),
    );
    const ids = await executor.submitArray(reqs, { maxConcurrent: 2 });
    expect(ids.map((x) => x.externalId)).toEqual(
      ids.map((_, i) => expect.stringMatching(new RegExp(`^\\d+_${i}$`))),
    );
    const states = [];
    for (const { externalId } of ids) states.push(await ended(externalId));
    expect(states.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(states[2]).toMatchObject({ exitCode: 5 });
    for (const [i, r] of reqs.entries()) {
      expect(readFileSync(path.join(r.workDir, 'output.log'), 'utf8')).toBe(
        `run=trial-${i} shared=same for all\n`,
      );
      // The per-task variables sit in a file only its owner can read.
      expect(statSync(path.join(r.workDir, 'falaj-task.env')).mode & 0o077).toBe(0);
    }
    const logs: string[] = [];
    for await (const c of executor.logs(ids[1]?.externalId ?? '')) logs.push(Buffer.from(c).toString());
    expect(logs.join('')).toBe('run=trial-1 shared=same for all\n');
  });

  it('refuses ids that are not Slurm job ids', async () => {
    await expect(executor.status('12; rm -rf /')).rejects.toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT' });
  });

  it('discovers the node with its CPUs and memory', async () => {
    const nodes = await executor.discover();
    expect(nodes[0]).toMatchObject({ cpu: expect.any(Number), labels: { executor: 'slurm' } });
  });
});
