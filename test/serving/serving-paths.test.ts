// Serving beyond the happy path of one Falaj model: a foreign ONNX graph served through both
// protocols and compared with onnxruntime called directly; public deployments and invoke
// tokens; the request log with labels and PII hashing; metrics; alias following; a version
// that fails to load; lineage; delete. Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { P } from '../registry/staging/helpers.js';
import { DIALECTS } from '../support/dialects.js';
import { DEPLOYMENTS, type ServingTest, setupServing } from './helpers.js';
import { direct, logistic, treeRegressor } from './onnx-graphs.js';

const ROW: [number, number, string, string] = [0.3, -1.2, 'A', 'north'];
const ROWS3 = [
  [0.5, 1.25, -2],
  [3, 0, 1],
  [-1, 2, 0.25],
];

describe.each(DIALECTS)('serving paths on %s', (dialect) => {
  let x: ServingTest;
  /** Registers ONNX bytes (from a run's artifacts, as an MLflow client would) as the next version of `model`. */
  async function registerOnnx(model: string, files: Record<string, Uint8Array | string>): Promise<number> {
    const mlflow = (path: string, body: unknown) =>
      x.t.request('POST', `/api/2.0/mlflow/${path}`, {
        token: x.as.alice,
        body,
        headers: { 'x-falaj-project': 'alpha' },
      });
    const exp = await mlflow('experiments/create', { name: `onnx-${model}-${Math.random()}` });
    const experimentId = (exp.json() as { experiment_id: string }).experiment_id;
    const run = await mlflow('runs/create', { experiment_id: experimentId });
    const runId = (run.json() as { run: { info: { run_id: string } } }).run.info.run_id;
    for (const [name, bytes] of Object.entries(files)) {
      const put = await x.t.app.inject({
        method: 'PUT',
        url: `${P}/artifacts/files/runs/${runId}/artifacts/model/${name}`,
        headers: { authorization: `Bearer ${x.as.alice}`, 'content-type': 'application/octet-stream' },
        payload: Buffer.from(bytes),
      });
      expect(put.statusCode, put.body).toBeLessThan(300);
    }
    const reg = await x.call('alice', 'POST', `${P}/models/${model}/versions`, { run_id: runId });
    expect(reg.statusCode, reg.body).toBe(201);
    return (reg.json() as { version: number }).version;
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    x = await setupServing(dialect);
  }, 120_000);
  afterAll(async () => x?.close());

  it('serves a foreign ONNX classifier through V2 (2-D tensor) and MLflow, equal to onnxruntime', async () => {
    const bytes = logistic();
    const v = await registerOnnx('logit', { 'model.onnx': bytes });
    const d = await x.deploy('logit', { model: `logit@${v}` });
    expect(d).toMatchObject({ state: 'ready' });
    const want = await direct(bytes, ROWS3);
    // The request as the Open Inference Protocol's REST spec writes it: one FP32 tensor [3, 3].
    const res = await x.t.app.inject({
      method: 'POST',
      url: '/serving/alpha/logit/v2/models/logit/infer',
      headers: { ...bearer(x.as.bob), 'content-type': 'application/json' },
      payload: { id: 'req-1', inputs: [{ name: 'X', shape: [3, 3], datatype: 'FP32', data: ROWS3.flat() }] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { id: string; outputs: { name: string; shape: number[]; data: number[] }[] };
    expect(body.id).toBe('req-1');
    const proba = body.outputs.find((o) => o.name === 'predict_proba')!;
    expect(proba.shape).toEqual([3, 2]);
    const p = Array.from(want.probabilities!.data as Float32Array);
    for (const [i, value] of proba.data.entries()) expect(value).toBeCloseTo(p[i] as number, 6);
    const labels = Array.from(want.label!.data as BigInt64Array, Number);
    expect(body.outputs.find((o) => o.name === 'predict')!.data).toEqual(labels);

    const ml = await x.mlflow('logit', { inputs: ROWS3 });
    expect(ml.statusCode, ml.body).toBe(200);
    expect(ml.json()).toEqual({ predictions: labels });
    const probaMl = await x.mlflow('logit', {
      dataframe_split: { data: ROWS3 },
      params: { predict_method: 'predict_proba' },
    });
    for (const [i, value] of (probaMl.json() as { predictions: number[][] }).predictions.flat().entries())
      expect(value).toBeCloseTo(p[i] as number, 6);
  });

  it('serves a foreign TreeEnsembleRegressor with one input per column', async () => {
    const bytes = treeRegressor();
    const v = await registerOnnx('trees', { 'model.onnx': bytes });
    await x.deploy('trees', { model: `trees@${v}` });
    const rows = [
      [0.2, 1],
      [0.9, 3],
      [0.5, 2],
    ];
    const want = Array.from((await direct(bytes, rows)).Y!.data as Float32Array);
    const res = await x.t.app.inject({
      method: 'POST',
      url: '/serving/alpha/trees/v2/models/trees/infer',
      headers: { ...bearer(x.as.bob), 'content-type': 'application/json' },
      payload: {
        inputs: [
          { name: 'X_0', shape: [3], datatype: 'FP32', data: rows.map((r) => r[0]) },
          { name: 'X_1', shape: [3], datatype: 'FP32', data: rows.map((r) => r[1]) },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const out = (res.json() as { outputs: { data: number[] }[] }).outputs[0]!.data;
    for (const [i, value] of out.entries()) expect(value).toBeCloseTo(want[i] as number, 5);
  });

  it('admits anonymous callers only on a deployment a project admin made public', async () => {
    const anon = () =>
      x.t.app.inject({
        method: 'POST',
        url: '/serving/alpha/logit/invocations',
        headers: { 'content-type': 'application/json' },
        payload: { inputs: ROWS3 },
      });
    expect((await anon()).statusCode).toBe(401);
    const byMaintainer = await x.call('bob', 'PUT', `${DEPLOYMENTS}/logit/public`, { public: true });
    expect(byMaintainer.statusCode).toBe(403);
    const byAdmin = await x.call('dana', 'PUT', `${DEPLOYMENTS}/logit/public`, { public: true });
    expect(byAdmin.json()).toMatchObject({ public: true });
    expect((await anon()).statusCode).toBe(200);
    // Public means no token is needed, not that any token is accepted: a bad one is still refused.
    const badToken = await x.t.app.inject({
      method: 'POST',
      url: '/serving/alpha/logit/invocations',
      headers: { ...bearer('falaj_nope'), 'content-type': 'application/json' },
      payload: { inputs: ROWS3 },
    });
    expect(badToken.statusCode).toBe(401);
    const events = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['action', 'actor'])
      .where('action', '=', 'deployment.make_public')
      .execute();
    expect(events).toEqual([{ action: 'deployment.make_public', actor: 'user:dana' }]);
    await x.call('dana', 'PUT', `${DEPLOYMENTS}/logit/public`, { public: false });
    expect((await anon()).statusCode).toBe(401);
  });

  it('gives invoke tokens inference and nothing else, bound to one deployment when asked', async () => {
    const mint = async (body: Record<string, unknown>) => {
      const res = await x.call('viewer', 'POST', `${P}/tokens`, {
        name: `invoke-${Math.random()}`,
        role: 'invoke',
        ...body,
      });
      expect(res.statusCode, res.body).toBe(201);
      return (res.json() as { token: string }).token;
    };
    const any = await mint({});
    const bound = await mint({ deployment: 'logit' });
    const call = (token: string, deployment: string) =>
      x.t.app.inject({
        method: 'POST',
        url: `/serving/alpha/${deployment}/invocations`,
        headers: { ...bearer(token), 'content-type': 'application/json' },
        payload: deployment === 'logit' ? { inputs: ROWS3 } : { dataframe_records: [{ X_0: 0.2, X_1: 1 }] },
      });
    expect((await call(any, 'logit')).statusCode).toBe(200);
    expect((await call(any, 'trees')).statusCode).toBe(200);
    expect((await call(bound, 'logit')).statusCode).toBe(200);
    const other = await call(bound, 'trees');
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    // Nothing but inference: not even reading the deployments.
    expect((await x.t.request('GET', DEPLOYMENTS, { token: any })).statusCode).toBe(403);
    const notInvoke = await x.call('viewer', 'POST', `${P}/tokens`, {
      name: 'x',
      role: 'viewer',
      deployment: 'logit',
    });
    expect(notInvoke.statusCode).toBe(400);
  });

  it('logs every request with its outcome, joins labels by request id, hashes PII columns', async () => {
    // `region` of the training data is PII: the log keeps a keyed hash of it.
    const tag = await x.call('alice', 'PUT', `${P}/datasets/loans/columns/region/tags`, { tags: ['pii'] });
    expect(tag.statusCode, tag.body).toBe(200);
    await x.deploy('logged', { model: `credit@${x.versions[0]}` });
    const ok = await x.v2('logged', [ROW, [1, 1, 'B', 'south']], { headers: { 'x-request-id': 'order-1' } });
    expect(ok.headers['x-request-id']).toBe('order-1');
    const bad = await x.mlflow('logged', {
      dataframe_records: [{ x1: 'text', x2: 1, group: 'A', region: 'north' }],
    });
    expect(bad.statusCode).toBe(400);
    await x.runtime().requestLog.flush();
    const labels = await x.call('alice', 'POST', `${DEPLOYMENTS}/logged/labels`, {
      labels: [
        { request_id: 'order-1', row: 0, label: 'yes' },
        { request_id: 'order-1', row: 1, label: 'no' },
      ],
    });
    expect(labels.json()).toEqual({ recorded: 2 });
    const log = await x.call('viewer', 'GET', `${DEPLOYMENTS}/logged/requests`);
    expect(log.statusCode, log.body).toBe(200);
    const rows = (log.json() as { requests: Record<string, unknown>[] }).requests;
    const okRows = rows
      .filter((r) => r.request_id === 'order-1')
      .sort((a, b) => Number(a.row) - Number(b.row));
    expect(okRows).toHaveLength(2);
    expect(okRows[0]).toMatchObject({
      status: 200,
      model: 'credit',
      model_version: x.versions[0],
      variant: 'primary',
      protocol: 'v2',
      in_x1: 0.3,
      in_group: 'A',
      label: 'yes',
    });
    expect(okRows[1]).toMatchObject({ in_group: 'B', label: 'no' });
    expect(okRows[0]!.in_region).not.toBe('north');
    expect(String(okRows[0]!.in_region)).toMatch(/^[0-9a-f]{64}$/);
    expect(['yes', 'no']).toContain(okRows[0]!.out_label);
    const failed = rows.filter((r) => r.status === 400);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ protocol: 'mlflow', in_x1: null });
    expect(String(failed[0]!.error)).toMatch(/x1/);
  });

  it('exports per-deployment Prometheus metrics', async () => {
    const res = await x.t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).toMatch(
      /falaj_inference_requests_total\{[^}]*deployment="logged"[^}]*status="200"[^}]*\} 1/,
    );
    expect(res.body).toMatch(
      /falaj_inference_requests_total\{[^}]*deployment="logged"[^}]*status="400"[^}]*\} 1/,
    );
    expect(res.body).toMatch(/falaj_inference_duration_seconds_bucket\{[^}]*deployment="logit"/);
    expect(res.body).toMatch(/falaj_inference_rows_total\{[^}]*deployment="logged"[^}]*\} 2/);
    expect(res.body).toMatch(/falaj_serving_replicas_ready\{project="alpha",deployment="logit"\} 1/);
  });

  it('follows an alias when it moves, records lineage, keeps serving when a new version fails to load', async () => {
    const set = (version: number) =>
      x.call('alice', 'PUT', `${P}/models/credit/aliases/champion`, { version });
    expect((await set(x.versions[0]!)).statusCode).toBe(200);
    await x.deploy('champ', { model: 'credit@champion' });
    const version = async () =>
      ((await x.v2('champ', [ROW])).json() as { model_version: string }).model_version;
    expect(await version()).toBe(String(x.versions[0]));
    await set(x.versions[1]!);
    await x.runtime().host.reconcile();
    expect(await version()).toBe(String(x.versions[1]));
    const edges = await x.t.svc.store.db
      .selectFrom('lineage_edges')
      .select(['from_kind', 'relation'])
      .where('to_kind', '=', 'deployment')
      .execute();
    expect(edges.length).toBeGreaterThan(3);
    expect(new Set(edges.map((e) => `${e.from_kind}:${e.relation}`))).toEqual(
      new Set(['model_version:deployed']),
    );

    // A version whose model.json is no model: the deployment stays on what it served, degraded.
    const broken = await registerOnnx('credit', { 'model.json': '{}', 'model.onnx': logistic() });
    const moved = await x.call('bob', 'PATCH', `${DEPLOYMENTS}/champ`, { model: `credit@${broken}` });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({
      state: 'degraded',
      serving: { primary: { version: x.versions[1] } },
    });
    expect((moved.json() as { stateReason: string }).stateReason).toMatch(/cannot load the model/);
    expect(await version()).toBe(String(x.versions[1]));
  });

  it("takes a replica's automatic rollback of a canary (maintainers only), audited as the replica's identity", async () => {
    await x.deploy('judged', {
      model: `credit@${x.versions[0]}`,
      canary: { model: `credit@${x.versions[1]}`, percent: 20 },
    });
    const numbers = {
      revision: 1,
      reason: 'canary error rate 40.00% > 5.00% over 60 requests in 60 s',
      requests: 60,
      errorRate: 0.4,
      p99Ms: 3,
      maxErrorRate: 0.05,
      maxP99Ms: 250,
      windowSeconds: 60,
    };
    expect((await x.call('alice', 'POST', `${DEPLOYMENTS}/judged/canary-rollback`, numbers)).statusCode).toBe(
      403,
    );
    const res = await x.call('bob', 'POST', `${DEPLOYMENTS}/judged/canary-rollback`, numbers);
    expect(res.json()).toEqual({ revision: 2 });
    // Judged on a revision that is no longer current: nothing changes.
    expect((await x.call('bob', 'POST', `${DEPLOYMENTS}/judged/canary-rollback`, numbers)).json()).toEqual({
      revision: null,
    });
    const d = (await x.call('bob', 'GET', `${DEPLOYMENTS}/judged`)).json() as {
      revision: number;
      spec: { canary: unknown };
    };
    expect(d).toMatchObject({ revision: 2, spec: { canary: null } });
    const events = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['actor', 'details'])
      .where('action', '=', 'deployment.auto_rollback')
      .where(
        'object_id',
        '=',
        (
          await x.t.svc.store.db
            .selectFrom('deployments')
            .select('id')
            .where('name', '=', 'judged')
            .executeTakeFirstOrThrow()
        ).id,
      )
      .execute();
    expect(events).toHaveLength(1);
    expect(events[0]!.actor).toBe('user:bob');
    expect(JSON.parse(events[0]!.details as string)).toMatchObject({ errorRate: 0.4, requests: 60 });
  });

  it('deletes a deployment: it stops answering', async () => {
    const del = await x.call('bob', 'DELETE', `${DEPLOYMENTS}/champ`);
    expect(del.statusCode).toBe(204);
    expect((await x.v2('champ', [ROW])).statusCode).toBe(404);
    expect((await x.call('bob', 'GET', `${DEPLOYMENTS}/champ`)).statusCode).toBe(404);
  });
});
