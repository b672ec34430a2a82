// A scheduling pass on the real one-node Slurm cluster (scripts/ensure-slurm.sh) starts alike
// attempts admitted together as one job array: one sbatch, tasks `<arrayId>_<i>`, each with its
// own environment, state and log. Passes are driven by the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsRuntime } from '../../../src/jobs/module.js';
import { createTestContext, type TestContext } from '../../support/app.js';
import { SLURM_MISSING } from '../../support/slurm.js';

describe.skipIf(SLURM_MISSING !== undefined)(
  `job arrays on the Slurm executor${SLURM_MISSING ? ` (skipped: ${SLURM_MISSING})` : ''}`,
  () => {
    let t: TestContext;
    beforeAll(async () => {
      t = await createTestContext('sqlite', { executor: 'slurm' });
      await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name: 'tune' } });
    });
    afterAll(async () => t?.close());

    const submit = async (spec: unknown) => {
      const res = await t.request('POST', '/api/v1/projects/tune/jobs', {
        token: t.adminToken,
        body: { spec },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().id as string;
    };
    const show = async (id: string) =>
      (await t.request('GET', `/api/v1/projects/tune/jobs/${id}`, { token: t.adminToken })).json();

    it('starts alike trials as one array and the odd one alone; each ends with its own log', async () => {
      const trial = (i: number) => ({
        name: `trial-${i}`,
        command: ['sh', '-c', 'echo "trial $TRIAL of job $FALAJ_JOB_ID"'],
        env: { TRIAL: String(i) },
        resources: { cpu: 0.5, memory: '64Mi' },
      });
      const trials = [await submit(trial(0)), await submit(trial(1)), await submit(trial(2))];
      const odd = await submit({
        command: ['sh', '-c', 'echo odd one'],
        resources: { cpu: 0.5, memory: '64Mi' },
      });
      await jobsRuntime(t.app).scheduler.pass();
      const started = await Promise.all(trials.map(show));
      for (const j of started) expect(j.state, j.reason).toBe('running');
      const arrayIds = started.map((j) => String(j.externalId));
      const arrayId = arrayIds[0]?.split('_')[0];
      // Tasks follow admission order, which ties among equal jobs leave open.
      expect([...arrayIds].sort()).toEqual([`${arrayId}_0`, `${arrayId}_1`, `${arrayId}_2`]);
      expect(String((await show(odd)).externalId)).toMatch(/^\d+$/);

      const deadline = Date.now() + 90_000;
      const all = [...trials, odd];
      while ((await Promise.all(all.map(show))).some((j) => j.state !== 'succeeded')) {
        if (Date.now() > deadline) throw new Error(JSON.stringify(await Promise.all(all.map(show))));
        await new Promise((r) => setTimeout(r, 300));
        await jobsRuntime(t.app).scheduler.pass();
      }
      for (const [i, id] of trials.entries()) {
        const logs = await t.request('GET', `/api/v1/projects/tune/jobs/${id}/logs`, { token: t.adminToken });
        expect(logs.body).toBe(`trial ${i} of job ${id}\n`);
      }
      const oddLog = await t.request('GET', `/api/v1/projects/tune/jobs/${odd}/logs`, {
        token: t.adminToken,
      });
      expect(oddLog.body).toBe('odd one\n');
    }, 150_000);
  },
);
