import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { experimentAndRun, setupTracking, type TrackingTest } from './helpers.js';

describe.each(DIALECTS)('MLflow runs API on %s', (dialect) => {
  let x: TrackingTest;
  let experimentId = '';
  beforeAll(async () => {
    x = await setupTracking(dialect);
    experimentId = (await x.ml('POST', 'experiments/create', { body: { name: 'runs' } })).json()
      .experiment_id;
  });
  afterAll(async () => x?.close());

  it('creates a run with MLflow fields, a generated name, the caller as user and a parent from the tag', async () => {
    const now = x.t.clock.now();
    const parent = await x.ml('POST', 'runs/create', {
      body: { experiment_id: experimentId, user_id: 'someone-else', unknown: true },
    });
    expect(parent.statusCode).toBe(200);
    const p = parent.json().run;
    expect(p.info).toEqual({
      run_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      run_uuid: p.info.run_id,
      run_name: expect.stringMatching(/^[a-z]+-[a-z]+-\d+$/),
      experiment_id: experimentId,
      user_id: 'admin',
      status: 'RUNNING',
      start_time: now,
      artifact_uri: `mlflow-artifacts:/alpha/runs/${p.info.run_id}/artifacts`,
      lifecycle_stage: 'active',
    });
    expect(p.data).toEqual({ tags: [{ key: 'mlflow.runName', value: p.info.run_name }] });
    expect(p.inputs).toEqual({});
    const child = await x.ml('POST', 'runs/create', {
      body: {
        experiment_id: experimentId,
        run_name: 'child',
        start_time: 1234,
        tags: [{ key: 'mlflow.parentRunId', value: p.info.run_id }],
      },
    });
    const c = child.json().run;
    expect(c.info).toMatchObject({ run_name: 'child', start_time: 1234 });
    const row = await x.t.svc.store.db
      .selectFrom('runs')
      .select('parent_run_id')
      .where('id', '=', c.info.run_id)
      .executeTakeFirstOrThrow();
    expect(row.parent_run_id).toBe(p.info.run_id);
    const clash = await x.ml('POST', 'runs/create', {
      body: { experiment_id: experimentId, run_name: 'a', tags: [{ key: 'mlflow.runName', value: 'b' }] },
    });
    expect(clash.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    const noExperiment = await x.ml('POST', 'runs/create', { body: { experiment_id: '42' } });
    expect(noExperiment.statusCode).toBe(404);
    expect(noExperiment.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('logs metrics, params, tags one by one and reads them back; update accepts run_uuid', async () => {
    const { runId } = await experimentAndRun(x, 'one-by-one');
    const ok = async (path: string, body: object) => {
      const res = await x.ml('POST', path, { body: { run_id: runId, ...body } });
      expect(res.statusCode, `${path} ${res.body}`).toBe(200);
      expect(res.json()).toEqual({});
    };
    await ok('runs/log-metric', { key: 'loss', value: 0.5, timestamp: 10, step: 1 });
    await ok('runs/log-metric', { key: 'loss', value: '0.25', timestamp: '11', step: '2' });
    await ok('runs/log-metric', { key: 'loss', value: 0.9, timestamp: 5, step: 0 });
    await ok('runs/log-parameter', { key: 'lr', value: '0.1' });
    await ok('runs/log-parameter', { key: 'lr', value: '0.1' });
    await ok('runs/set-tag', { key: 'team', value: 'risk' });
    await ok('runs/set-tag', { key: 'gone', value: 'soon' });
    await ok('runs/delete-tag', { key: 'gone' });
    const missingTag = await x.ml('POST', 'runs/delete-tag', { body: { run_id: runId, key: 'gone' } });
    expect(missingTag.statusCode).toBe(404);
    const updated = await x.ml('POST', 'runs/update', {
      body: { run_uuid: runId, status: 'FINISHED', end_time: 99, run_name: 'renamed' },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json().run_info).toMatchObject({
      run_id: runId,
      status: 'FINISHED',
      end_time: 99,
      run_name: 'renamed',
    });
    const run = (await x.ml('GET', 'runs/get', { query: { run_uuid: runId } })).json().run;
    expect(run.data.metrics).toEqual([{ key: 'loss', value: 0.25, timestamp: 11, step: 2 }]);
    expect(run.data.params).toEqual([{ key: 'lr', value: '0.1' }]);
    expect(run.data.tags).toEqual([
      { key: 'mlflow.runName', value: 'renamed' },
      { key: 'team', value: 'risk' },
    ]);
    const history = await x.ml('GET', 'metrics/get-history', {
      query: { run_id: runId, metric_key: 'loss' },
    });
    expect(history.json()).toEqual({
      metrics: [
        { key: 'loss', value: 0.9, timestamp: 5, step: 0 },
        { key: 'loss', value: 0.5, timestamp: 10, step: 1 },
        { key: 'loss', value: 0.25, timestamp: 11, step: 2 },
      ],
    });
    const badStatus = await x.ml('POST', 'runs/update', { body: { run_id: runId, status: 'DONE' } });
    expect(badStatus.json().error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('keeps params immutable: a different value is refused and nothing of the request is kept', async () => {
    const { runId } = await experimentAndRun(x, 'immutable');
    await x.ml('POST', 'runs/log-parameter', { body: { run_id: runId, key: 'depth', value: '6' } });
    const before = await x.counts();
    const single = await x.ml('POST', 'runs/log-parameter', {
      body: { run_id: runId, key: 'depth', value: '7' },
    });
    expect(single.statusCode).toBe(400);
    expect(single.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    const batch = await x.ml('POST', 'runs/log-batch', {
      body: {
        run_id: runId,
        metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
        params: [
          { key: 'new', value: 'x' },
          { key: 'depth', value: '8' },
        ],
      },
    });
    expect(batch.statusCode).toBe(400);
    const after = await x.counts();
    expect({ ...after, audit_events: 0 }).toEqual({ ...before, audit_events: 0 });
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run;
    expect(run.data.params).toEqual([{ key: 'depth', value: '6' }]);
  });

  it('round-trips NaN and ±Infinity as MLflow writes them ("NaN", "Infinity", "-Infinity")', async () => {
    const { runId } = await experimentAndRun(x, 'non-finite');
    const res = await x.ml('POST', 'runs/log-batch', {
      body: {
        run_id: runId,
        metrics: [
          { key: 'nan', value: 'NaN', timestamp: 1, step: 0 },
          { key: 'inf', value: 'Infinity', timestamp: 1, step: 0 },
          { key: 'ninf', value: '-Infinity', timestamp: 1, step: 0 },
          { key: 'big', value: 1.7976931348623157e308, timestamp: 1, step: 0 },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    // Python's json.dumps writes bare NaN/Infinity tokens: accepted too.
    const bare = await x.t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/runs/log-metric',
      headers: { authorization: `Bearer ${x.alpha}`, 'content-type': 'application/json' },
      payload: `{"run_id": "${runId}", "key": "nan", "value": NaN, "timestamp": 2, "step": 1, "note": "NaN Infinity"}`,
    });
    expect(bare.statusCode, bare.body).toBe(200);
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run;
    expect(run.data.metrics).toEqual([
      { key: 'big', value: 1.7976931348623157e308, timestamp: 1, step: 0 },
      { key: 'inf', value: 'Infinity', timestamp: 1, step: 0 },
      { key: 'nan', value: 'NaN', timestamp: 2, step: 1 },
      { key: 'ninf', value: '-Infinity', timestamp: 1, step: 0 },
    ]);
    const history = await x.ml('GET', 'metrics/get-history', { query: { run_id: runId, metric_key: 'nan' } });
    expect(history.json().metrics.map((m: { value: unknown }) => m.value)).toEqual(['NaN', 'NaN']);
    // A key no metric can have (PostgreSQL cannot compare a NUL with text) is an unknown key.
    const nul = await x.ml('GET', 'metrics/get-history', {
      query: { run_id: runId, metric_key: 'n\u0000an' },
    });
    expect(nul.statusCode, nul.body).toBe(200);
    expect(nul.json().metrics ?? []).toEqual([]);
    const bad = await x.ml('POST', 'runs/log-metric', {
      body: { run_id: runId, key: 'x', value: 'abc', timestamp: 1 },
    });
    expect(bad.json().error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('log-batch is all or nothing within MLflow limits', async () => {
    const { runId } = await experimentAndRun(x, 'limits');
    const metric = (i: number) => ({ key: `m${i % 10}`, value: i, timestamp: i, step: i });
    const before = await x.counts();
    const cases: [string, object][] = [
      ['1001 metrics', { metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) }],
      ['101 params', { params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' })) }],
      ['101 tags', { tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: 'v' })) }],
      [
        '1001 in all',
        {
          metrics: Array.from({ length: 950 }, (_, i) => metric(i)),
          params: Array.from({ length: 51 }, (_, i) => ({ key: `p${i}`, value: 'v' })),
        },
      ],
      ['key too long', { metrics: [{ ...metric(1), key: 'k'.repeat(251) }] }],
      ['bad key', { metrics: [metric(1), { ...metric(2), key: '../etc' }] }],
      ['param too long', { params: [{ key: 'p', value: 'v'.repeat(6001) }] }],
      ['tag too long', { tags: [{ key: 't', value: 'v'.repeat(8001) }] }],
      ['non-numeric', { metrics: [metric(1), { ...metric(2), value: { x: 1 } }] }],
      ['bad step', { metrics: [{ ...metric(2), step: 1.5 }] }],
      ['NUL in value', { params: [{ key: 'p', value: 'a\u0000b' }] }],
      ['over 1 MB', { tags: [{ key: 't', value: 'v' }], padding: 'x'.repeat(1_000_001) }],
    ];
    for (const [name, body] of cases) {
      const res = await x.ml('POST', 'runs/log-batch', { body: { run_id: runId, ...body } });
      expect(res.statusCode, `${name}: ${res.body.slice(0, 200)}`).toBe(400);
      expect(res.json().error_code, name).toBe('INVALID_PARAMETER_VALUE');
    }
    const after = await x.counts();
    expect({ ...after, audit_events: 0 }).toEqual({ ...before, audit_events: 0 });

    const full = await x.ml('POST', 'runs/log-batch', {
      body: {
        run_id: runId,
        metrics: Array.from({ length: 800 }, (_, i) => metric(i)),
        params: Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: String(i) })),
        tags: Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: String(i) })),
      },
    });
    expect(full.statusCode, full.body).toBe(200);
    const done = await x.counts();
    expect(done.metrics - after.metrics).toBe(800);
    expect(done.latest_metrics - after.latest_metrics).toBe(10);
    expect(done.params - after.params).toBe(100);
    expect(done.audit_events - after.audit_events).toBe(1);
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run;
    expect(run.data.metrics.find((m: { key: string }) => m.key === 'm3')).toEqual({
      key: 'm3',
      value: 793,
      timestamp: 793,
      step: 793,
    });
  });

  it('latest_metrics keeps the greatest step, then timestamp, then value', async () => {
    const { runId } = await experimentAndRun(x, 'latest');
    const log = (metrics: object[]) => x.ml('POST', 'runs/log-batch', { body: { run_id: runId, metrics } });
    await log([
      { key: 'a', value: 1, timestamp: 5, step: 3 },
      { key: 'a', value: 2, timestamp: 9, step: 2 },
    ]);
    await log([{ key: 'a', value: 0, timestamp: 1, step: 3 }]);
    await log([
      { key: 'a', value: 7, timestamp: 5, step: 3 },
      { key: 'a', value: 'NaN', timestamp: 5, step: 3 },
    ]);
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run;
    expect(run.data.metrics).toEqual([{ key: 'a', value: 7, timestamp: 5, step: 3 }]);
  });

  it('pages metric history with opaque tokens, ties included', async () => {
    const { runId } = await experimentAndRun(x, 'history');
    const metrics = Array.from({ length: 25 }, (_, i) => ({
      key: 'h',
      value: i,
      timestamp: 100,
      step: Math.floor(i / 10),
    }));
    await x.ml('POST', 'runs/log-batch', { body: { run_id: runId, metrics } });
    const seen: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await x.ml('GET', 'metrics/get-history', {
        query: { run_id: runId, metric_key: 'h', max_results: '4', ...(token ? { page_token: token } : {}) },
      });
      expect(res.statusCode, res.body).toBe(200);
      seen.push(...res.json().metrics.map((m: { value: number }) => m.value));
      token = res.json().next_page_token;
      pages++;
    } while (token && pages < 20);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(pages).toBe(7);
  });

  it('a deleted run refuses logging until restored; unknown runs are RESOURCE_DOES_NOT_EXIST', async () => {
    const { runId } = await experimentAndRun(x, 'deleted');
    expect((await x.ml('POST', 'runs/delete', { body: { run_id: runId } })).statusCode).toBe(200);
    const before = await x.counts();
    for (const [path, body] of [
      ['runs/log-metric', { key: 'm', value: 1, timestamp: 1 }],
      ['runs/log-parameter', { key: 'p', value: '1' }],
      ['runs/set-tag', { key: 't', value: '1' }],
      ['runs/log-batch', { metrics: [{ key: 'm', value: 1, timestamp: 1 }] }],
      ['runs/update', { status: 'FINISHED' }],
    ] as const) {
      const res = await x.ml('POST', path, { body: { run_id: runId, ...body } });
      expect(res.statusCode, path).toBe(400);
      expect(res.json().error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(res.json().message).toMatch(/must be in the 'active' state/);
    }
    expect({ ...(await x.counts()), audit_events: 0 }).toEqual({ ...before, audit_events: 0 });
    expect((await x.ml('POST', 'runs/restore', { body: { run_id: runId } })).statusCode).toBe(200);
    expect(
      (await x.ml('POST', 'runs/log-metric', { body: { run_id: runId, key: 'm', value: 1, timestamp: 1 } }))
        .statusCode,
    ).toBe(200);
    for (const [method, path] of [
      ['GET', 'runs/get'],
      ['POST', 'runs/log-metric'],
      ['POST', 'runs/delete'],
      ['GET', 'metrics/get-history'],
      ['GET', 'artifacts/list'],
    ] as const) {
      const res =
        method === 'GET'
          ? await x.ml('GET', path, { query: { run_id: 'f'.repeat(32), metric_key: 'm' } })
          : await x.ml('POST', path, { body: { run_id: 'f'.repeat(32), key: 'm', value: 1, timestamp: 1 } });
      expect(res.statusCode, path).toBe(404);
      expect(res.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    // Another project's run is just as unknown.
    const beta = await experimentAndRun(x, 'beta-runs', x.beta);
    expect((await x.ml('GET', 'runs/get', { query: { run_id: beta.runId } })).statusCode).toBe(404);
  });

  it('logs dataset inputs and returns them with the run', async () => {
    const { runId } = await experimentAndRun(x, 'inputs');
    const dataset = {
      name: 'cards',
      digest: 'abc123',
      source_type: 'local',
      source: '{"uri": "/data/cards.csv"}',
      schema: '{}',
    };
    for (let i = 0; i < 2; i++) {
      const res = await x.ml('POST', 'runs/log-inputs', {
        body: {
          run_id: runId,
          datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }],
        },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const run = (await x.ml('GET', 'runs/get', { query: { run_id: runId } })).json().run;
    expect(run.inputs).toEqual({
      dataset_inputs: [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }],
    });
    const bad = await x.ml('POST', 'runs/log-inputs', {
      body: { run_id: runId, datasets: [{ dataset: { name: 'x' } }] },
    });
    expect(bad.json().error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('searches runs through the search compiler and loads them in order', async () => {
    const { experimentId: eid } = await experimentAndRun(x, 'search');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      x.t.clock.advance(1000);
      const r = await x.ml('POST', 'runs/create', { body: { experiment_id: eid, run_name: `r${i}` } });
      const id = r.json().run.info.run_id as string;
      ids.push(id);
      await x.ml('POST', 'runs/log-batch', {
        body: {
          run_id: id,
          metrics: [{ key: 'auc', value: 0.8 + i / 10, timestamp: 1 }],
          params: [{ key: 'depth', value: String(i) }],
        },
      });
    }
    const res = await x.ml('POST', 'runs/search', {
      body: {
        experiment_ids: [eid],
        filter: 'metrics.auc > 0.85',
        order_by: ['metrics.auc DESC'],
        max_results: 1,
        extra: 1,
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().runs.map((r: { info: { run_name: string } }) => r.info.run_name)).toEqual(['r2']);
    expect(res.json().runs[0].data.params).toEqual([{ key: 'depth', value: '2' }]);
    const page2 = await x.ml('POST', 'runs/search', {
      body: {
        experiment_ids: [eid],
        filter: 'metrics.auc > 0.85',
        order_by: ['metrics.auc DESC'],
        max_results: 1,
        page_token: res.json().next_page_token,
      },
    });
    expect(page2.json().runs.map((r: { info: { run_name: string } }) => r.info.run_name)).toEqual(['r1']);
    const bad = await x.ml('POST', 'runs/search', {
      body: { experiment_ids: [eid], filter: "params.x = 'unterminated" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(
      (await x.ml('POST', 'runs/search', { body: { experiment_ids: [eid], max_results: 50_001 } }))
        .statusCode,
    ).toBe(400);
    const none = await x.ml('POST', 'runs/search', {
      body: { experiment_ids: [eid], filter: 'metrics.auc > 5' },
    });
    expect(none.json()).toEqual({});
  });

  it('lists run artifacts from the core artifact store', async () => {
    const { runId } = await experimentAndRun(x, 'artifacts');
    for (const [path, body] of [
      ['model/MLmodel', 'flavors: {}'],
      ['model/model.onnx', 'bytes'],
      ['metrics.json', '{}'],
    ]) {
      const res = await x.t.app.inject({
        method: 'PUT',
        url: `/api/v1/projects/alpha/artifacts/files/runs/${runId}/artifacts/${path}`,
        headers: { authorization: `Bearer ${x.alpha}`, 'content-type': 'application/octet-stream' },
        payload: body,
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const root = await x.ml('GET', 'artifacts/list', { query: { run_id: runId } });
    expect(root.json()).toEqual({
      root_uri: `mlflow-artifacts:/alpha/runs/${runId}/artifacts`,
      files: [
        { path: 'metrics.json', is_dir: false, file_size: 2 },
        { path: 'model', is_dir: true },
      ],
    });
    const sub = await x.ml('GET', 'artifacts/list', { query: { run_id: runId, path: 'model' } });
    expect(sub.json().files).toEqual([
      { path: 'model/MLmodel', is_dir: false, file_size: 11 },
      { path: 'model/model.onnx', is_dir: false, file_size: 5 },
    ]);
    expect((await x.ml('GET', 'artifacts/list', { query: { run_id: runId, path: '../x' } })).statusCode).toBe(
      400,
    );
  });

  it('audits every change with exactly one event per request', async () => {
    const { runId } = await experimentAndRun(x, 'audit');
    const events = () =>
      x.t.svc.store.db
        .selectFrom('audit_events')
        .select(['action', 'object_id', 'details'])
        .orderBy('seq')
        .execute();
    const before = (await events()).length;
    await x.ml('POST', 'runs/log-batch', {
      body: {
        run_id: runId,
        metrics: Array.from({ length: 500 }, (_, i) => ({ key: 'm', value: i, timestamp: i, step: i })),
      },
    });
    await x.ml('POST', 'runs/set-tag', { body: { run_id: runId, key: 'k', value: 'v' } });
    await x.ml('POST', 'runs/update', { body: { run_id: runId, status: 'FINISHED' } });
    const added = (await events()).slice(before);
    expect(added.map((e) => [e.action, e.object_id])).toEqual([
      ['run.log-batch', runId],
      ['run.tag.set', runId],
      ['run.update', runId],
    ]);
    expect(JSON.parse(added[0]!.details)).toEqual({ metrics: 500, params: 0, tags: 0 });
  });
});
