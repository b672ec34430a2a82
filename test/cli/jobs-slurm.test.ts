// The same jobs as on the local executor, run by a server whose executor is the real one-node
// Slurm cluster (scripts/ensure-slurm.sh): a job runs to success with its logs and run, and a
// cancelled one ends cancelled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliSession, startCliSession } from '../support/cli-session.js';
import { SLURM_MISSING } from '../support/slurm.js';

let cli: CliSession;
const falaj = (args: string[]) => cli.ok(args);
const until = (id: string, states: string[]) => cli.untilJob(id, states, 90);

describe.skipIf(SLURM_MISSING !== undefined)(
  `jobs on the Slurm executor${SLURM_MISSING ? ` (skipped: ${SLURM_MISSING})` : ''}`,
  () => {
    beforeAll(async () => {
      cli = await startCliSession({ serverArgs: ['--executor', 'slurm'] });
    });
    afterAll(() => cli?.dispose());

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
