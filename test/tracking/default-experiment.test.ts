import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { setupTracking, type TrackingTest } from './helpers.js';

// `mlflow.start_run()` with no experiment set sends experiment_id "0", MLflow's default
// experiment. Each project gets its own "Default", made on first use.
describe.each(DIALECTS)('the default experiment "0" on %s', (dialect) => {
  let x: TrackingTest;
  beforeAll(async () => {
    x = await setupTracking(dialect);
  });
  afterAll(() => x.close());

  it('is absent until first used, then created once per project and found as "0"', async () => {
    const before = await x.ml('GET', 'experiments/get', { query: { experiment_id: '0' } });
    expect(before.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    // A viewer cannot make it appear.
    const viewer = await x.ml('POST', 'runs/create', { token: x.viewer, body: { experiment_id: '0' } });
    expect(viewer.statusCode).toBe(403);

    const first = (await x.ml('POST', 'runs/create', { body: { experiment_id: '0' } })).json().run.info;
    const second = (await x.ml('POST', 'runs/create', { body: { experiment_id: '0' } })).json().run.info;
    expect(first.experiment_id).toBe(second.experiment_id);
    expect(first.experiment_id).not.toBe('0');
    const exp = (await x.ml('GET', 'experiments/get', { query: { experiment_id: '0' } })).json().experiment;
    expect(exp).toMatchObject({
      experiment_id: first.experiment_id,
      name: 'Default',
      lifecycle_stage: 'active',
    });

    const found = await x.ml('POST', 'runs/search', { body: { experiment_ids: ['0'] } });
    expect(
      found
        .json()
        .runs.map((r: { info: { run_id: string } }) => r.info.run_id)
        .sort(),
    ).toEqual([first.run_id, second.run_id].sort());
    // Renamed, it stays the default; another project has its own.
    await x.ml('POST', 'experiments/update', { body: { experiment_id: '0', new_name: 'Scratch' } });
    expect(
      (await x.ml('GET', 'experiments/get', { query: { experiment_id: '0' } })).json().experiment.name,
    ).toBe('Scratch');
    const beta = (await x.ml('POST', 'runs/create', { token: x.beta, body: { experiment_id: '0' } })).json()
      .run.info;
    expect(beta.experiment_id).not.toBe(first.experiment_id);
  });

  it('adopts an existing experiment named "Default"', async () => {
    const other = await setupTracking(dialect);
    try {
      const own = (await other.ml('POST', 'experiments/create', { body: { name: 'Default' } })).json()
        .experiment_id;
      const run = (await other.ml('POST', 'runs/create', { body: { experiment_id: '0' } })).json().run.info;
      expect(run.experiment_id).toBe(own);
      expect(
        (await other.ml('GET', 'experiments/get', { query: { experiment_id: '0' } })).json().experiment
          .experiment_id,
      ).toBe(own);
    } finally {
      await other.close();
    }
  });
});
