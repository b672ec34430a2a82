import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingRuntime } from '../../src/trainer/module.js';
import { adultLikeCsv } from '../support/adult-like.js';
import { DIALECTS } from '../support/dialects.js';
import { setupTracking, type TrackingTest } from '../tracking/helpers.js';

// Server-side training: a CSV in the project's artifact store, a 202 naming the run, and the
// run ending FINISHED with what the training produced (or FAILED with the reason).
describe.each(DIALECTS)('POST /api/v1/projects/:p/training on %s', (dialect) => {
  let x: TrackingTest;
  beforeAll(async () => {
    x = await setupTracking(dialect);
    const put = await x.t.request('PUT', '/api/v1/projects/alpha/artifacts/files/data/adult.csv', {
      token: x.alpha,
      body: adultLikeCsv(1500, 4),
      headers: { 'content-type': 'text/csv' },
    });
    expect(put.statusCode, put.body).toBe(201);
  });
  afterAll(() => x.close());

  const train = (body: unknown, token = x.alpha) =>
    x.t.request('POST', '/api/v1/projects/alpha/training', { token, body });
  const runOf = async (id: string) => (await x.ml('GET', 'runs/get', { query: { run_id: id } })).json().run;

  it('trains, tunes and logs everything into the run it names', async () => {
    const res = await train({
      data: 'data/adult.csv',
      target: 'income',
      tune: 2,
      sampler: 'random',
      params: { nRounds: 20 },
      experiment: 'income',
    });
    expect(res.statusCode, res.body).toBe(202);
    const { runId, experimentId } = res.json();
    await trainingRuntime(x.t.app).trainer.idle();
    const run = await runOf(runId);
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.metrics.map((m: { key: string }) => m.key)).toEqual(
      expect.arrayContaining(['auc', 'logloss', 'accuracy']),
    );
    expect(run.data.params).toContainEqual({ key: 'target', value: 'income' });
    const files = (await x.ml('GET', 'artifacts/list', { query: { run_id: runId, path: 'model' } })).json()
      .files;
    expect(files.map((f: { path: string }) => f.path)).toEqual([
      'model/arrays.bin',
      'model/model.json',
      'model/model.onnx',
    ]);
    const children = await x.ml('POST', 'runs/search', {
      body: { experiment_ids: [experimentId], filter: `tags.mlflow.parentRunId = '${runId}'` },
    });
    expect(children.json().runs).toHaveLength(2);
  });

  it('marks the run FAILED with the reason when the data cannot train', async () => {
    const res = await train({ data: 'data/adult.csv', target: 'no_such_column' });
    expect(res.statusCode).toBe(202);
    await trainingRuntime(x.t.app).trainer.idle();
    const run = await runOf(res.json().runId);
    expect(run.info.status).toBe('FAILED');
    const error = run.data.tags.find((t: { key: string }) => t.key === 'falaj.training.error');
    expect(error.value).toMatch(/^FALAJ_DATA_INVALID: .*no_such_column/);
  });

  it('trains on a dataset version, and refuses one that failed its suite', async () => {
    const DS = '/api/v1/projects/alpha/datasets';
    const suite = {
      name: 'small',
      expectations: [
        { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { max_value: 1200 } },
      ],
    };
    expect(
      (await x.t.request('POST', DS, { token: x.alpha, body: { name: 'adult', suite } })).statusCode,
    ).toBe(201);
    const upload = (csv: string) =>
      x.t.request('POST', `${DS}/adult/versions?fileName=adult.csv`, {
        token: x.alpha,
        body: csv,
        headers: { 'content-type': 'text/csv' },
      });
    expect((await upload(adultLikeCsv(1000, 6))).json()).toMatchObject({ version: 1, status: 'passed' });
    expect((await upload(adultLikeCsv(1500, 7))).json()).toMatchObject({ version: 2, status: 'failed' });

    const ok = await train({ dataset: 'adult@1', target: 'income', params: { nRounds: 10 } });
    expect(ok.statusCode, ok.body).toBe(202);
    await trainingRuntime(x.t.app).trainer.idle();
    const run = await runOf(ok.json().runId);
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.tags).toContainEqual({ key: 'falaj.training.data', value: 'adult@1' });
    // The input is on the run (MLflow's dataset input) and in the lineage graph, with its digest.
    const v1 = (await x.t.request('GET', `${DS}/adult/versions/1`, { token: x.alpha })).json();
    expect(run.inputs.dataset_inputs[0].dataset).toMatchObject({ name: 'adult', digest: v1.digest });
    const graph = await x.t.request('GET', `/api/v1/projects/alpha/lineage?node=run:${ok.json().runId}`, {
      token: x.alpha,
    });
    expect(graph.json().edges).toEqual([
      expect.objectContaining({
        from: expect.objectContaining({ kind: 'dataset_version' }),
        relation: 'input',
        attrs: { digest: v1.digest, rows: 1000 },
      }),
    ]);
    expect(graph.json().nodes.map((n: { label: string }) => n.label)).toContain('adult@1');

    const refused = await train({ dataset: 'adult@latest', target: 'income' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('FALAJ_DATA_NOT_USABLE');
    const both = await train({ dataset: 'adult@1', data: 'data/adult.csv', target: 'income' });
    expect(both.json().error.code).toBe('FALAJ_INVALID_ARGUMENT');
  });

  it('refuses what it cannot start, and needs editor', async () => {
    expect((await train({ data: 'data/missing.csv', target: 'income' })).json().error.code).toBe(
      'FALAJ_NOT_FOUND',
    );
    expect((await train({ data: 'data/adult.txt', target: 'income' })).json().error.code).toBe(
      'FALAJ_INVALID_ARGUMENT',
    );
    expect(
      (await train({ data: 'data/adult.csv', target: 'income', model: 'forest' })).json().error.code,
    ).toBe('FALAJ_VALIDATION');
    expect((await train({ data: 'data/adult.csv', target: 'income' }, x.viewer)).statusCode).toBe(403);
  });
});
