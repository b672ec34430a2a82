// The SDK's deployments surface (`falaj.deployments`) against a server listening in this
// process (test/serving/helpers.ts: project alpha, model credit trained twice by the server):
// create, canary, promotion, rollback, revisions, public (admins only), an invoke token calling
// V2 and MLflow scoring and nothing else, labels (a list and a CSV file), the request log,
// errors with their stable codes, delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Falaj, FalajApiError } from '../../src/index.js';
import { type ServingTest, setupServing, v2Body } from '../serving/helpers.js';

let x: ServingTest;
let url = '';

beforeAll(async () => {
  x = await setupServing('sqlite');
  url = await x.t.app.listen({ port: 0, host: '127.0.0.1' });
}, 180_000);
afterAll(async () => x?.close());

function as(token: string | undefined): Falaj {
  return new Falaj({ url, ...(token ? { token } : {}), project: 'alpha', env: {}, retries: 0 });
}

const ROWS: [number, number, string, string][] = [
  [0.3, -1.2, 'A', 'north'],
  [2, 2, 'B', 'south'],
];

describe('falaj.deployments against a server', () => {
  it('creates, lists and reads a deployment, with the URLs to call', async () => {
    const bob = as(x.as.bob);
    const [v1, v2] = x.versions;
    const d = await bob.deployments.create('credit', { model: `credit@${v1}`, description: 'loans' });
    expect(d).toMatchObject({
      name: 'credit',
      description: 'loans',
      revision: 1,
      state: 'ready',
      url: '/serving/alpha/credit',
      public: false,
      serving: { primary: { model: 'credit', version: v1 } },
      spec: { model: `credit@${v1}`, canary: null, shadow: null, autoRollback: null, placement: 'embedded' },
    });
    expect((await bob.deployments.list()).map((l) => l.name)).toEqual(['credit']);
    expect((await as(x.viewer).deployments.get('credit')).revision).toBe(1);
    expect(await bob.deployments.endpoints('credit')).toEqual({
      base: `${url}/serving/alpha/credit`,
      v2Infer: `${url}/serving/alpha/credit/v2/models/credit/infer`,
      mlflow: `${url}/serving/alpha/credit/invocations`,
    });
    expect(v2).toBeGreaterThan(v1!);
  });

  it('canary, a refused percent, promotion, rollback and the revisions', async () => {
    const bob = as(x.as.bob);
    const [v1, v2] = x.versions;
    const canary = await bob.deployments.update('credit', {
      canary: { model: `credit@${v2}`, percent: 10 },
      autoRollback: { maxErrorRate: 0.2 },
    });
    expect(canary).toMatchObject({
      revision: 2,
      state: 'ready',
      spec: {
        canary: { model: `credit@${v2}`, percent: 10 },
        autoRollback: { maxErrorRate: 0.2, maxP99Ms: 250 },
      },
      serving: { primary: { version: v1 }, canary: { version: v2 } },
    });
    const err = await bob.deployments
      .update('credit', { canary: { model: `credit@${v2}`, percent: 150 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FalajApiError);
    expect(err).toMatchObject({ errorCode: 'FALAJ_DEPLOYMENT_INVALID', status: 400 });

    const promoted = await bob.deployments.update('credit', { promoteCanary: true });
    expect(promoted.spec).toMatchObject({ model: `credit@${v2}`, canary: null });
    const back = await bob.deployments.rollback('credit');
    expect(back).toMatchObject({ revision: 4, spec: { model: `credit@${v1}`, canary: { percent: 10 } } });
    const to1 = await bob.deployments.rollback('credit', 1);
    expect(to1).toMatchObject({ revision: 5, spec: { canary: null, autoRollback: null } });
    expect((await bob.deployments.revisions('credit')).map((r) => r.reason)).toEqual([
      'rollback',
      'rollback',
      'promote-canary',
      'update',
      'create',
    ]);
    await expect(
      as(x.as.alice).deployments.update('credit', { model: `credit@${v2}` }),
    ).rejects.toMatchObject({
      errorCode: 'FALAJ_FORBIDDEN',
    });
  });

  it('public: admins only; then callable without a token', async () => {
    await expect(as(x.as.bob).deployments.setPublic('credit', true)).rejects.toMatchObject({
      errorCode: 'FALAJ_FORBIDDEN',
      status: 403,
    });
    const anonymous = as(undefined);
    await expect(anonymous.deployments.invokeV2('credit', v2Body(ROWS))).rejects.toMatchObject({
      status: 401,
    });
    expect((await as(x.as.dana).deployments.setPublic('credit', true)).public).toBe(true);
    const res = await anonymous.deployments.invokeV2('credit', v2Body(ROWS));
    expect(res.status).toBe(200);
    expect(res.body.model_name).toBe('credit');
    expect((await as(x.as.dana).deployments.setPublic('credit', false)).public).toBe(false);
  });

  it('an invoke token calls V2 and MLflow scoring; labels join the request log', async () => {
    const made = await x.call('bob', 'POST', '/api/v1/projects/alpha/tokens', {
      name: 'scorer',
      role: 'invoke',
      deployment: 'credit',
    });
    expect(made.statusCode, made.body).toBe(201);
    const scorer = as((made.json() as { token: string }).token);
    const v2 = await scorer.deployments.invokeV2('credit', v2Body(ROWS));
    expect(v2.status).toBe(200);
    expect(v2.body.model_version).toBe(String(x.versions[0]));
    expect(v2.body.outputs.length).toBeGreaterThan(0);
    const ml = await scorer.deployments.invokeMlflow<{ predictions: unknown[] }>('credit', {
      dataframe_split: { columns: ['x1', 'x2', 'group', 'region'], data: ROWS },
    });
    expect(ml.body.predictions).toHaveLength(2);
    expect(ml.requestId).toBeTruthy();
    await expect(scorer.deployments.list()).rejects.toMatchObject({ errorCode: 'FALAJ_FORBIDDEN' });

    const alice = as(x.as.alice);
    expect(
      await alice.deployments.labels('credit', [{ request_id: ml.requestId!, row: 0, label: 'yes' }]),
    ).toEqual({
      recorded: 1,
    });
    expect(
      await alice.deployments.labels('credit', `request_id,label,row\n${ml.requestId},no,1\n`, 'csv'),
    ).toEqual({ recorded: 1 });
    await x.runtime().requestLog.flush();
    const rows = await as(x.viewer).deployments.requests('credit', { limit: 50, from: new Date(0) });
    const mine = rows.filter((r) => r.request_id === ml.requestId).sort((a, b) => a.row - b.row);
    expect(mine.map((r) => [r.row, r.protocol, r.status, r.label])).toEqual([
      [0, 'mlflow', 200, 'yes'],
      [1, 'mlflow', 200, 'no'],
    ]);
    expect(rows.some((r) => r.request_id === v2.requestId && r.protocol === 'v2')).toBe(true);
  });

  it('delete: it stops serving; unknown names answer their codes', async () => {
    const bob = as(x.as.bob);
    await bob.deployments.delete('credit');
    await expect(bob.deployments.get('credit')).rejects.toMatchObject({ status: 404 });
    expect(await bob.deployments.list()).toEqual([]);
    await expect(bob.deployments.get('')).rejects.toMatchObject({ errorCode: 'FALAJ_INVALID_ARGUMENT' });
  });
});
