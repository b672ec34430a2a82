// Deployments end to end in one server: create, serve through both protocols, canary split,
// shadow, blue/green, rollback, automatic rollback, a failed load, alias following, public
// deployments and invoke tokens. Both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { DEPLOYMENTS, type ServingTest, setupServing } from './helpers.js';

const ROW: [number, number, string, string] = [0.3, -1.2, 'A', 'north'];

describe.each(DIALECTS)('deployments on %s', (dialect) => {
  let x: ServingTest;
  beforeAll(async () => {
    x = await setupServing(dialect);
  }, 120_000);
  afterAll(async () => x?.close());

  it('creates a deployment that answers V2 and MLflow scoring requests', async () => {
    const d = await x.deploy('credit', { model: `credit@${x.versions[0]}` });
    expect(d).toMatchObject({ name: 'credit', revision: 1, state: 'ready', url: '/serving/alpha/credit' });
    expect(d.serving).toEqual({ primary: { model: 'credit', version: x.versions[0] } });

    const res = await x.v2('credit', [ROW, [2, 2, 'B', 'south']]);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as {
      model_name: string;
      model_version: string;
      outputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
    };
    expect(body.model_name).toBe('credit');
    expect(body.model_version).toBe(String(x.versions[0]));
    const predict = body.outputs.find((o) => o.name === 'predict')!;
    const proba = body.outputs.find((o) => o.name === 'predict_proba')!;
    expect(predict).toMatchObject({ shape: [2], datatype: 'BYTES' });
    expect(proba).toMatchObject({ shape: [2, 2], datatype: 'FP64' });
    const p = proba.data as number[];
    expect((p[0] as number) + (p[1] as number)).toBeCloseTo(1, 12);
    expect(predict.data[0]).toBe((p[1] as number) > (p[0] as number) ? 'yes' : 'no');
    expect(res.headers['x-request-id']).toBeTruthy();

    const ml = await x.mlflow('credit', {
      dataframe_split: { columns: ['x1', 'x2', 'group', 'region'], data: [ROW, [2, 2, 'B', 'south']] },
    });
    expect(ml.statusCode, ml.body).toBe(200);
    expect(ml.json()).toEqual({ predictions: predict.data });

    const csv = await x.mlflow('credit', 'x1,x2,group,region\n0.3,-1.2,A,north\n2,2,B,south\n', {
      contentType: 'text/csv',
    });
    expect(csv.json()).toEqual({ predictions: predict.data });

    const meta = await x.t.app.inject({
      method: 'GET',
      url: '/serving/alpha/credit/v2/models/credit',
      headers: { authorization: `Bearer ${x.as.bob}` },
    });
    expect(meta.json()).toMatchObject({ name: 'credit', versions: [String(x.versions[0])] });
    for (const url of ['v2/health/live', 'v2/health/ready', 'v2/models/credit/ready', 'ping', 'health'])
      expect(
        (
          await x.t.app.inject({
            method: 'GET',
            url: `/serving/alpha/credit/${url}`,
            headers: { authorization: `Bearer ${x.as.bob}` },
          })
        ).statusCode,
        url,
      ).toBe(200);
  });

  it('answers bad input in the protocol shape and keeps serving', async () => {
    const wrongType = await x.t.app.inject({
      method: 'POST',
      url: '/serving/alpha/credit/v2/models/credit/infer',
      headers: { authorization: `Bearer ${x.as.bob}`, 'content-type': 'application/json' },
      payload: { inputs: [{ name: 'x1', shape: [1], datatype: 'BYTES', data: ['a'] }] },
    });
    expect(wrongType.statusCode).toBe(400);
    expect(Object.keys(wrongType.json() as object)).toEqual(['error']);
    const unknown = await x.v2('nope', [ROW]);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toHaveProperty('error');
    const badVersion = await x.v2('credit', [ROW], { version: 99 });
    expect(badVersion.statusCode).toBe(404);
    const ragged = await x.mlflow('credit', 'x1,x2,group,region\n1,2,A\n', { contentType: 'text/csv' });
    expect(ragged.statusCode).toBe(400);
    expect(ragged.json()).toMatchObject({ error_code: 'BAD_REQUEST' });
    // Over the row limit: refused from the declared shape, before any data is read.
    const n = 100_001;
    const tooMany = await x.t.app.inject({
      method: 'POST',
      url: '/serving/alpha/credit/v2/models/credit/infer',
      headers: { authorization: `Bearer ${x.as.bob}`, 'content-type': 'application/json' },
      payload: {
        inputs: ['x1', 'x2']
          .map((name) => ({ name, shape: [n], datatype: 'FP64', data: [] }))
          .concat(['group', 'region'].map((name) => ({ name, shape: [n], datatype: 'BYTES', data: [] }))),
      },
    });
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json()).toHaveProperty('error');
    const notJson = await x.t.app.inject({
      method: 'POST',
      url: '/serving/alpha/credit/invocations',
      headers: { authorization: `Bearer ${x.as.bob}`, 'content-type': 'application/json' },
      payload: '{"inputs": [1, 2',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ error_code: 'BAD_REQUEST' });
    const anonymous = await x.v2('credit', [ROW], { token: null });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toHaveProperty('error');
    expect((await x.v2('credit', [ROW])).statusCode).toBe(200);
  });

  it('splits traffic to a canary by percentage, sticky by routing key', async () => {
    const d = await x.call('bob', 'PATCH', `${DEPLOYMENTS}/credit`, {
      canary: { model: `credit@${x.versions[1]}`, percent: 10 },
    });
    expect(d.statusCode, d.body).toBe(200);
    expect(d.json()).toMatchObject({ revision: 2, state: 'ready' });
    const n = 10_000;
    let canary = 0;
    for (let i = 0; i < n; i++) {
      const res = await x.v2('credit', [ROW]);
      if ((res.json() as { model_version: string }).model_version === String(x.versions[1])) canary++;
    }
    // 10% of 10,000: the standard deviation is 30 requests (0.3%); ±3% is ten of them.
    expect(Math.abs(canary / n - 0.1)).toBeLessThan(0.03);
    const versions = new Set<string>();
    for (let i = 0; i < 30; i++)
      versions.add(
        (
          (await x.v2('credit', [ROW], { headers: { 'x-falaj-routing-key': 'customer-42' } })).json() as {
            model_version: string;
          }
        ).model_version,
      );
    expect(versions.size).toBe(1);
    // Naming a version in the URL reaches it whatever the split.
    const pinned = await x.v2('credit', [ROW], { version: x.versions[1] });
    expect((pinned.json() as { model_version: string }).model_version).toBe(String(x.versions[1]));
  });

  it('rolls a failing canary back automatically, audited with the numbers', async () => {
    const set = await x.call('bob', 'PATCH', `${DEPLOYMENTS}/credit`, {
      canary: { model: `credit@${x.versions[1]}`, percent: 50 },
      autoRollback: { maxErrorRate: 0.1, minRequests: 20, windowSeconds: 60 },
    });
    expect(set.statusCode, set.body).toBe(200);
    const revision = (set.json() as { revision: number }).revision;
    // Injected failure: the canary's loaded model throws from now on (a model that breaks on live traffic).
    const live = x.runtime().host.get('alpha', 'credit')!;
    const canary = live.canary!;
    const original = canary.serving.predict;
    (canary.serving as { predict: typeof original }).predict = async () => {
      throw new Error('injected failure');
    };
    try {
      let failed = 0;
      for (let i = 0; i < 100; i++) if ((await x.v2('credit', [ROW])).statusCode === 500) failed++;
      expect(failed).toBeGreaterThan(20);
      const judged = await x.runtime().host.judgeCanaries();
      expect(judged).toEqual([expect.objectContaining({ deployment: 'credit' })]);
    } finally {
      (canary.serving as { predict: typeof original }).predict = original;
    }
    const after = (await x.call('bob', 'GET', `${DEPLOYMENTS}/credit`)).json() as {
      revision: number;
      spec: { canary: unknown };
      serving: Record<string, unknown>;
    };
    expect(after.revision).toBe(revision + 1);
    expect(after.spec.canary).toBeNull();
    expect(Object.keys(after.serving)).toEqual(['primary']);
    const revs = (await x.call('bob', 'GET', `${DEPLOYMENTS}/credit/revisions`)).json() as {
      revisions: { revision: number; reason: string; details: { errorRate: number; requests: number } }[];
    };
    expect(revs.revisions[0]).toMatchObject({ revision: revision + 1, reason: 'auto-rollback' });
    expect(revs.revisions[0]!.details.errorRate).toBeGreaterThan(0.1);
    const audit = await x.t.svc.store.db
      .selectFrom('audit_events')
      .select(['actor', 'details'])
      .where('action', '=', 'deployment.auto_rollback')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe('system:serving');
    expect(JSON.parse(audit[0]!.details as string)).toMatchObject({
      requests: expect.any(Number),
      maxErrorRate: 0.1,
    });
    for (let i = 0; i < 20; i++) expect((await x.v2('credit', [ROW])).statusCode).toBe(200);
  });

  it('sends shadow traffic that never answers, switches blue/green, and rolls back', async () => {
    const shadow = await x.call('bob', 'PATCH', `${DEPLOYMENTS}/credit`, {
      shadow: { model: `credit@${x.versions[1]}` },
    });
    expect(shadow.statusCode, shadow.body).toBe(200);
    for (let i = 0; i < 50; i++)
      expect(((await x.v2('credit', [ROW])).json() as { model_version: string }).model_version).toBe(
        String(x.versions[0]),
      );
    const log = x.runtime().requestLog;
    await new Promise((r) => setImmediate(r));
    await log.flush();
    const green = await x.call('bob', 'PATCH', `${DEPLOYMENTS}/credit`, {
      model: `credit@${x.versions[1]}`,
      shadow: null,
    });
    expect(green.json()).toMatchObject({ serving: { primary: { version: x.versions[1] } } });
    expect(((await x.v2('credit', [ROW])).json() as { model_version: string }).model_version).toBe(
      String(x.versions[1]),
    );
    const back = await x.call('bob', 'POST', `${DEPLOYMENTS}/credit/rollback`, {});
    expect(back.statusCode, back.body).toBe(200);
    // The previous revision: the first model with the second as its shadow.
    expect(back.json()).toMatchObject({
      spec: { model: `credit@${x.versions[0]}`, shadow: { model: `credit@${x.versions[1]}` } },
    });
  });
});
