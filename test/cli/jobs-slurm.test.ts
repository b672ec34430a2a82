// The same jobs as on the local executor, run by a server whose executor is the real one-node
// Slurm cluster (scripts/ensure-slurm.sh): a job runs to success with its logs and run, and a
// cancelled one ends cancelled.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../support/dialects.js';
import { CLI, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { SLURM_MISSING } from '../support/slurm.js';

let sb: Sandbox;
let server: ServerProcess;
let env: Record<string, string>;

function falaj(args: string[], input = '') {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FALAJ_TOKEN: '', FALAJ_RUN_ID: '', ...env },
  });
  expect(res.status, `${args.join(' ')}: ${res.stderr}${res.stdout}`).toBe(0);
  return res.stdout;
}
async function until(id: string, states: string[]) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const job = JSON.parse(falaj(['jobs', 'show', id, '--json']));
    if (states.includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} (${job.reason})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe.skipIf(SLURM_MISSING !== undefined)(
  `jobs on the Slurm executor${SLURM_MISSING ? ` (skipped: ${SLURM_MISSING})` : ''}`,
  () => {
    beforeAll(async () => {
      sb = await createSandbox('sqlite');
      server = await startServerProcess({ dataDir: sb.dataDir, args: ['--executor', 'slurm'] });
      env = { FALAJ_CONFIG: path.join(sb.dataDir, 'cli.json'), FALAJ_URL: server.url, FALAJ_PROJECT: 'ml' };
      falaj(['login', '-u', 'admin'], 'e2e-admin-password\n');
      falaj(['projects', 'create', 'ml']);
    });
    afterAll(async () => {
      server?.kill('SIGKILL');
      await server?.exited;
      await sb?.dispose();
    });

    it('runs a job through sbatch to success, with its Slurm id, logs and tracking run', async () => {
      const id = falaj([
        'jobs',
        'submit',
        '--cpu',
        '1',
        '--memory',
        '128Mi',
        '--',
        process.execPath,
        '-e',
        "console.log('on slurm', process.env.SLURM_JOB_ID)",
      ]).trim();
      const done = await until(id, ['succeeded', 'failed', 'cancelled']);
      expect(done.state, done.reason).toBe('succeeded');
      expect(done.executor).toBe('slurm');
      expect(falaj(['jobs', 'logs', id])).toMatch(/on slurm \d+/);
      expect(JSON.parse(falaj(['runs', 'show', done.runId, '--json'])).info.status).toBe('FINISHED');
    });

    it('cancels a running Slurm job', async () => {
      const id = falaj([
        'jobs',
        'submit',
        '--cpu',
        '1',
        '--memory',
        '64Mi',
        '--',
        process.execPath,
        '-e',
        'setInterval(() => {}, 1000)',
      ]).trim();
      await until(id, ['running']);
      falaj(['jobs', 'cancel', id]);
      expect((await until(id, ['cancelled', 'failed', 'succeeded'])).state).toBe('cancelled');
    });
  },
);
