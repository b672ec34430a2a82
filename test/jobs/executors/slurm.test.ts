// The Slurm executor against the conformance suite on a real one-node Slurm cluster
// (scripts/ensure-slurm.sh starts one). Without a cluster the file skips and says why, except
// under FALAJ_TEST_REQUIRE_SLURM=1 (CI), where a missing cluster fails.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { attemptFiles, controlDir } from '../../../src/jobs/executors/local-attempt-files.js';
import { SlurmExecutor } from '../../../src/jobs/executors/slurm.js';
import { EXIT_STATUS_FILE } from '../../../src/jobs/executors/slurm-batch.js';
import { resolveSandbox } from '../../../src/jobs/sandbox/sandbox-setup.js';
import type { AttemptStatus, JobSpec, LaunchRequest } from '../../../src/jobs/types.js';
import { SLURM_MISSING } from '../../support/slurm.js';
import { conformanceWorkRoot, executorConformance } from './conformance.js';

const missing = SLURM_MISSING;

if (missing) {
  describe('executor conformance: slurm', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
} else {
  // /tmp is shared by the only node (this machine); a real cluster needs a shared filesystem.
  const dataDir = conformanceWorkRoot('falaj-slurm-exec-');
  const root = path.join(dataDir, 'jobs');
  const sandbox = resolveSandbox({ hidden: [dataDir] });
  executorConformance({
    name: 'slurm',
    // Every instance shares the index, as a restarted server does (its data directory).
    create: () =>
      new SlurmExecutor({ cancelWaitSeconds: 60, stateDir: path.join(root, 'slurm-state'), sandbox }),
    workRoot: root,
    dataDir,
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
  const stateDir = path.join(root, 'slurm-state');
  // Sandboxed as a server runs it: arrays too carry each task's sandbox.
  const executor = new SlurmExecutor({
    stateDir,
    cancelWaitSeconds: 60,
    sandbox: resolveSandbox({ hidden: [] }),
  });
  const MiB = 1024 * 1024;
  const request = (
    name: string,
    command: string[],
    env: Record<string, string> = {},
    over: Partial<JobSpec> = {},
  ): LaunchRequest => ({
    jobId: `extra-${name}`,
    attempt: 1,
    spec: { command, queue: 'q', resources: { cpu: 1, memory: 32 * MiB, gpu: 0 }, ...over },
    placements: [],
    env,
    workDir: path.join(root, name),
  });
  const ended = async (id: string, e: SlurmExecutor = executor): Promise<AttemptStatus> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await e.status(id);
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
      expect(readFileSync(attemptFiles(r.workDir).log, 'utf8')).toBe(`run=trial-${i} shared=same for all\n`);
      // The per-task variables sit in a file only its owner can read.
      expect(statSync(path.join(controlDir(r.workDir), 'falaj-task.env')).mode & 0o077).toBe(0);
    }
    const logs: string[] = [];
    for await (const c of executor.logs(ids[1]?.externalId ?? '')) logs.push(Buffer.from(c).toString());
    expect(logs.join('')).toBe('run=trial-1 shared=same for all\n');
    // Each task recorded its end in its own workDir, so the answers survive Slurm forgetting them.
    const amnesiac = forgetful();
    for (const [i, { externalId }] of ids.entries()) {
      expect(await amnesiac.status(externalId)).toEqual(states[i]);
    }
    expect(await readLog(amnesiac, ids[2]?.externalId ?? '')).toBe('run=trial-2 shared=same for all\n');
  });

  /**
   * A new executor instance (a restarted server) for which Slurm has forgotten every job, as it
   * does MinJobAge after a job ends when there is no accounting database. Waiting MinJobAge
   * (600 s here) or changing the shared cluster's configuration is not an option, so its
   * scontrol answers as the real one does for an id it does not know (checked on this cluster
   * with `scontrol show job 99999999`).
   */
  const forgetful = (): SlurmExecutor => {
    const scontrol = path.join(root, 'forgetful-scontrol');
    writeFileSync(
      scontrol,
      '#!/bin/sh\necho "slurm_load_jobs error: Invalid job id specified" >&2\nexit 1\n',
    );
    chmodSync(scontrol, 0o755);
    return new SlurmExecutor({ stateDir, bin: { scontrol } });
  };
  const readLog = async (e: SlurmExecutor, id: string): Promise<string> => {
    const parts: Buffer[] = [];
    for await (const c of e.logs(id)) parts.push(Buffer.from(c));
    return Buffer.concat(parts).toString('utf8');
  };

  it('answers as before once Slurm has forgotten a finished job: state, exit code, signal, log', async () => {
    const cases = [
      request('forgotten-ok', ['sh', '-c', 'echo out; echo err >&2; echo done']),
      request('forgotten-exit', ['sh', '-c', 'echo failing; exit 3']),
      request('forgotten-killed', ['sh', '-c', 'echo dying; kill -KILL $$']),
      request(
        'forgotten-ddp',
        ['sh', '-c', 'echo "rank $RANK"; exit 5'],
        {},
        {
          resources: { cpu: 2, memory: 64 * MiB, gpu: 0 },
          distributed: { nodes: 1, procsPerNode: 2 },
        },
      ),
    ];
    const ids: string[] = [];
    for (const r of cases) ids.push((await executor.start(r)).externalId);
    const live: AttemptStatus[] = [];
    for (const id of ids) live.push(await ended(id));
    expect(live.map((s) => s.state)).toEqual(['succeeded', 'failed', 'failed', 'failed']);
    expect(live[0]).toEqual({ state: 'succeeded', exitCode: 0 });
    expect(live[1]).toEqual({ state: 'failed', exitCode: 3, reason: 'exit code 3' });
    expect(live[2]).toMatchObject({ state: 'failed', signal: 'SIGKILL' });
    expect(live[3]).toMatchObject({ state: 'failed', exitCode: 5 });

    const amnesiac = forgetful();
    await expect(amnesiac.status('99999999')).resolves.toMatchObject({ state: 'lost' });
    for (const [i, id] of ids.entries()) {
      // The same answer Slurm gave, from the file the batch script left and the index.
      expect(await amnesiac.status(id), cases[i]?.jobId).toEqual(live[i]);
    }
    expect(readFileSync(path.join(controlDir(cases[2]?.workDir ?? ''), EXIT_STATUS_FILE), 'utf8')).toBe(
      'signal=9\n',
    );
    expect(await readLog(amnesiac, ids[0] ?? '')).toBe('out\nerr\ndone\n');
    expect(await readLog(amnesiac, ids[1] ?? '')).toBe('failing\n');
    // srun adds its own lines about the failed step after the ranks' output.
    const ddpLog = (await readLog(amnesiac, ids[3] ?? '')).split('\n');
    expect(ddpLog.filter((l) => l.startsWith('rank')).sort()).toEqual(['rank 0', 'rank 1']);
  });

  it('still reads a job Falaj cancelled before it ran as cancelled once Slurm has forgotten it', async () => {
    // --hold: the job stays pending, so it never runs and never records an end.
    const held = new SlurmExecutor({ stateDir, cancelWaitSeconds: 60, extraSbatchArgs: ['--hold'] });
    const { externalId } = await held.start(request('forgotten-held', ['true']));
    expect((await held.status(externalId)).state).toBe('pending');
    await held.cancel(externalId, { graceSeconds: 0 });
    expect((await ended(externalId)).state).toBe('cancelled');
    expect(await forgetful().status(externalId)).toMatchObject({ state: 'cancelled' });
  });

  it('refuses ids that are not Slurm job ids', async () => {
    await expect(executor.status('12; rm -rf /')).rejects.toMatchObject({ code: 'FALAJ_INVALID_ARGUMENT' });
  });

  it('discovers the node with its CPUs and memory', async () => {
    const nodes = await executor.discover();
    expect(nodes[0]).toMatchObject({ cpu: expect.any(Number), labels: { executor: 'slurm' } });
  });
});
