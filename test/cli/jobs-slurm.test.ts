// The same jobs as on the local executor, run by a server whose executor is the real one-node
// Slurm cluster (scripts/ensure-slurm.sh): a job runs to success with its logs and run, and a
// cancelled one ends cancelled; a tuning study runs its trials as Slurm jobs.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adultLikeCsv } from '../support/adult-like.js';
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

    it('runs a tuning study whose trials are Slurm jobs', async () => {
      const csv = path.join(cli.sb.dataDir, 'adult.csv');
      writeFileSync(csv, adultLikeCsv(600, 4));
      const out = JSON.parse(
        falaj([
          'train',
          '--data',
          csv,
          '--target',
          'income',
          '--tune',
          '4',
          '--trial-jobs',
          '2',
          '--sampler',
          'random',
          '--params',
          '{"nRounds":5}',
          '--experiment',
          'slurm-study',
          '--json',
        ]),
      );
      expect(out).toMatchObject({ trials: 4, complete: 4 });
      const jobs = JSON.parse(falaj(['jobs', 'list', '--json'])) as {
        name: string;
        state: string;
        executor: string;
        externalId: string;
      }[];
      const trials = jobs.filter((j) => j.name.startsWith('trial-'));
      expect(trials).toHaveLength(4);
      for (const j of trials) expect(j).toMatchObject({ state: 'succeeded', executor: 'slurm' });
    }, 240_000);

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
