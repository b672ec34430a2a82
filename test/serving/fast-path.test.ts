// The inference fast path (src/serving/fast-path.ts) answers over a real socket exactly what the
// routes answer: once a caller has been admitted through the hooks, its next requests skip the
// framework; everything the fast path cannot decide alone (an unknown token, a token bound to
// another deployment, a model name that is not the deployment's) still gets the routes' answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { P } from '../registry/staging/helpers.js';
import { DIALECTS } from '../support/dialects.js';
import { DEPLOYMENTS, type ServingTest, setupServing, v2Body } from './helpers.js';

const ROWS: [number, number, string, string][] = [
  [0.3, -1.2, 'A', 'north'],
  [2, 2, 'B', 'south'],
];

describe.each(DIALECTS)('the inference fast path on %s', (dialect) => {
  let x: ServingTest;
  let base = '';
  beforeAll(async () => {
    x = await setupServing(dialect);
    await x.deploy('fast', { model: `credit@${x.versions[0]}` });
    await x.deploy('other', { model: `credit@${x.versions[0]}` });
    base = await x.t.app.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);
  afterAll(async () => x?.close());

  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${base}/serving/alpha/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const answered = () => x.runtime().fastPath.answered;
  /** The same request twice: the first through the routes (the caller is not known yet), the second through the fast path. */
  async function twice(path: string, body: string, token: string, requestId: string) {
    const before = answered();
    const slow = await post(path, body, {
      authorization: `Bearer ${token}`,
      'x-request-id': `${requestId}-a`,
    });
    const fast = await post(path, body, {
      authorization: `Bearer ${token}`,
      'x-request-id': `${requestId}-b`,
    });
    return { slow, fast, viaFastPath: answered() - before };
  }

  it('answers V2 and MLflow the same way the routes do, with the request id and the request log', async () => {
    // Bob's session has not called a deployment yet: the first request goes through the routes.
    const token = x.as.bob;
    const v2 = await twice('fast/v2/models/fast/infer', JSON.stringify(v2Body(ROWS)), token, 'fp-v2');
    expect(v2.viaFastPath).toBe(1);
    expect(v2.slow.status).toBe(200);
    expect(v2.fast.status).toBe(200);
    expect(v2.fast.headers.get('x-request-id')).toBe('fp-v2-b');
    expect(v2.fast.headers.get('content-type')).toBe(v2.slow.headers.get('content-type'));
    const slowBody = (await v2.slow.json()) as { id: string };
    const fastBody = (await v2.fast.json()) as { id: string };
    expect(fastBody).toEqual({ ...slowBody, id: 'fp-v2-b' });

    const frame = JSON.stringify({
      dataframe_split: { columns: ['x1', 'x2', 'group', 'region'], data: ROWS },
    });
    const ml = await twice('fast/invocations', frame, token, 'fp-ml');
    expect(await ml.fast.json()).toEqual(await ml.slow.json());
    // A CSV body is the routes' (on the same keep-alive connection as the fast answers).
    const csv = await fetch(`${base}/serving/alpha/fast/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      body: 'x1,x2,group,region\n0.3,-1.2,A,north\n',
    });
    expect(csv.status, await csv.clone().text()).toBe(200);
    expect(((await csv.json()) as { predictions: unknown[] }).predictions).toHaveLength(1);

    // Bad input: the protocol's error, the same from both paths.
    const bad = JSON.stringify({ inputs: [{ name: 'x1', shape: [1], datatype: 'BYTES', data: ['a'] }] });
    const b1 = await post('fast/v2/models/fast/infer', bad, { authorization: `Bearer ${token}` });
    const n = answered();
    expect(b1.status).toBe(400);
    expect(Object.keys((await b1.json()) as object)).toEqual(['error']);
    const broken = await post('fast/invocations', '{"inputs": [1', { authorization: `Bearer ${token}` });
    expect(answered()).toBe(n + 1);
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error_code: 'BAD_REQUEST' });

    await x.runtime().requestLog.flush();
    const log = (await x.call('viewer', 'GET', `${DEPLOYMENTS}/fast/requests?limit=100`)).json() as {
      requests: { request_id: string; status: number }[];
    };
    const ids = new Set(log.requests.map((r) => r.request_id));
    for (const id of ['fp-v2-a', 'fp-v2-b', 'fp-ml-a', 'fp-ml-b']) expect(ids.has(id), id).toBe(true);
  });

  it('leaves to the routes what it cannot decide alone', async () => {
    const mint = async (body: Record<string, unknown>) =>
      (
        (
          await x.call('viewer', 'POST', `${P}/tokens`, {
            name: `fp-${Math.random()}`,
            role: 'invoke',
            ...body,
          })
        ).json() as { token: string }
      ).token;
    const bound = await mint({ deployment: 'fast' });
    const body = JSON.stringify(v2Body(ROWS));
    const auth = { authorization: `Bearer ${bound}` };
    expect((await post('fast/v2/models/fast/infer', body, auth)).status).toBe(200);
    const before = answered();
    expect((await post('fast/v2/models/fast/infer', body, auth)).status).toBe(200);
    expect(answered()).toBe(before + 1);
    // Bound to `fast`: `other` is refused by the routes, every time.
    for (let i = 0; i < 2; i++) {
      const res = await post('other/v2/models/other/infer', body, auth);
      expect(res.status).toBe(403);
      expect(await res.json()).toHaveProperty('error');
    }
    // A model name that is not the deployment's, an unknown token, no token: the routes' answers.
    expect((await post('fast/v2/models/nope/infer', body, auth)).status).toBe(404);
    expect(
      (await post('fast/v2/models/fast/infer', body, { authorization: 'Bearer falaj_unknown' })).status,
    ).toBe(401);
    expect((await post('fast/v2/models/fast/infer', body, {})).status).toBe(401);
    expect(answered()).toBe(before + 1);
    // Public: anonymous callers take the fast path too.
    await x.call('dana', 'PUT', `${DEPLOYMENTS}/fast/public`, { public: true });
    expect((await post('fast/v2/models/fast/infer', body, {})).status).toBe(200);
    expect(answered()).toBe(before + 2);
  });
});
