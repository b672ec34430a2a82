// A replica's request log shipper: entries leave its buffer only once the server took them;
// failures are retried in order; the buffer is bounded; entries the server refuses for what
// they are (4xx) are dropped rather than blocking every later one.
import { describe, expect, it } from 'vitest';
import { FalajApiError, type FalajClient } from '../../../src/client/index.js';
import { LogShipper } from '../../../src/serving/replicas/log-shipper.js';
import type { LogBatchWire } from '../../../src/serving/replicas/wire.js';
import type { RequestLogEntry } from '../../../src/serving/request-log/index.js';

const entry = (id: string, deployment = 'credit'): RequestLogEntry => ({
  requestId: id,
  time: 1,
  projectId: 'p',
  deploymentId: `d-${deployment}`,
  deployment,
  revision: 1,
  model: 'credit',
  modelVersion: 1,
  variant: 'primary',
  protocol: 'v2',
  status: 200,
  latencyMs: 1,
});

function fakeClient(answer: (path: string, body: LogBatchWire) => void) {
  const posts: { path: string; ids: string[] }[] = [];
  const client = {
    request: async (_m: string, path: string, o: { json: LogBatchWire }) => {
      answer(path, o.json);
      posts.push({ path, ids: o.json.entries.map((e) => e.requestId) });
      return { accepted: o.json.entries.length };
    },
  } as unknown as FalajClient;
  return { client, posts };
}

describe('LogShipper', () => {
  it('keeps entries until the server takes them, then ships them in order, per deployment', async () => {
    let down = true;
    const { client, posts } = fakeClient(() => {
      if (down) throw new FalajApiError(0, 'FALAJ_UNREACHABLE', 'down');
    });
    const s = new LogShipper({ client, project: 'alpha' });
    s.append(entry('a'));
    s.append(entry('b', 'fraud'));
    s.append(entry('c'));
    await expect(s.flush()).rejects.toThrow(/down/);
    expect(s.stats()).toMatchObject({ buffered: 3, shipped: 0, failures: 1 });
    s.append(entry('d'));
    down = false;
    await s.flush();
    expect(posts).toEqual([
      { path: '/api/v1/projects/alpha/deployments/credit/request-log', ids: ['a', 'c', 'd'] },
      { path: '/api/v1/projects/alpha/deployments/fraud/request-log', ids: ['b'] },
    ]);
    expect(s.stats()).toMatchObject({ buffered: 0, shipped: 4, dropped: 0 });
  });

  it('bounds its buffer, and drops what the server refuses as such (404) instead of retrying it forever', async () => {
    const { client, posts } = fakeClient((path) => {
      if (path.includes('/gone/'))
        throw new FalajApiError(404, 'FALAJ_DEPLOYMENT_NOT_FOUND', 'no deployment');
    });
    const s = new LogShipper({ client, project: 'alpha', maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) s.append(entry(id, id === 'a' ? 'gone' : 'credit'));
    expect(s.stats()).toMatchObject({ buffered: 3, dropped: 1 });
    await s.flush();
    expect(posts).toEqual([
      { path: '/api/v1/projects/alpha/deployments/credit/request-log', ids: ['b', 'c'] },
    ]);
    expect(s.stats()).toMatchObject({ buffered: 0, shipped: 2, dropped: 2 });
  });
});
