import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thin } from '../../src/tracking/v1-routes.js';
import { DIALECTS } from '../support/dialects.js';
import { setupTracking, type TrackingTest } from './helpers.js';

describe('thinning a series for charts', () => {
  it('keeps everything under the limit, else evenly spaced indices with the first and last', () => {
    expect(thin(3, 10)).toEqual([0, 1, 2]);
    expect(thin(101, 5)).toEqual([0, 25, 50, 75, 100]);
    expect(thin(1000, 2)).toEqual([0, 999]);
  });
});

describe.each(DIALECTS)("Falaj's tracking API (/api/v1) on %s", (dialect) => {
  let s: TrackingTest;
  let runA = '';
  let runB = '';
  let foreign = '';

  beforeAll(async () => {
    s = await setupTracking(dialect);
    const exp = (
      await s.ml('POST', 'experiments/create', { token: s.alpha, body: { name: 'charts' } })
    ).json().experiment_id;
    const create = async (token: string, experiment_id: string) =>
      (await s.ml('POST', 'runs/create', { token, body: { experiment_id, start_time: 1 } })).json().run.info
        .run_id as string;
    runA = await create(s.alpha, exp);
    runB = await create(s.alpha, exp);
    const metrics = (base: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        key: 'loss',
        value: base / (i + 1),
        timestamp: 1000 + i,
        step: i,
      }));
    await s.ml('POST', 'runs/log-batch', {
      token: s.alpha,
      body: {
        run_id: runA,
        metrics: [...metrics(1, 50), { key: 'auc', value: 0.9, timestamp: 1, step: 0 }],
        params: [
          { key: 'depth', value: '6' },
          { key: 'eta', value: '0.1' },
        ],
      },
    });
    await s.ml('POST', 'runs/log-batch', {
      token: s.alpha,
      body: {
        run_id: runB,
        metrics: [...metrics(2, 20), { key: 'auc', value: 'NaN', timestamp: 1, step: 0 }],
        params: [
          { key: 'depth', value: '8' },
          { key: 'eta', value: '0.1' },
        ],
      },
    });
    const betaExp = (
      await s.ml('POST', 'experiments/create', { token: s.beta, body: { name: 'other' } })
    ).json().experiment_id;
    foreign = await create(s.beta, betaExp);
    await s.ml('POST', 'runs/log-metric', {
      token: s.beta,
      body: { run_id: foreign, key: 'loss', value: 1, timestamp: 1, step: 0 },
    });
  });
  afterAll(async () => s?.close());

  const post = (url: string, body: unknown, token = s.alpha) =>
    s.t.request('POST', `/api/v1/projects/alpha${url}`, { token, body });

  it('returns the metric series of many runs as columns, NaN as MLflow writes it', async () => {
    const res = await post('/runs/metric-series', { runIds: [runA, runB] });
    expect(res.statusCode, res.body).toBe(200);
    const series = res.json().series as {
      runId: string;
      key: string;
      total: number;
      steps: number[];
      values: unknown[];
    }[];
    const a = series.find((x) => x.runId === runA && x.key === 'loss')!;
    expect(a.total).toBe(50);
    expect(a.steps).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a.values[1]).toBeCloseTo(0.5);
    expect(series.find((x) => x.runId === runB && x.key === 'auc')!.values).toEqual(['NaN']);
  });

  it('filters keys and thins long series to maxPoints keeping both ends', async () => {
    const res = await post('/runs/metric-series', { runIds: [runA], keys: ['loss'], maxPoints: 5 });
    const [only] = res.json().series as { key: string; total: number; steps: number[] }[];
    expect(res.json().series).toHaveLength(1);
    expect(only!.total).toBe(50);
    expect(only!.steps).toEqual([0, 12, 25, 37, 49]);
  });

  it("never returns another project's runs", async () => {
    const res = await post('/runs/metric-series', { runIds: [foreign] });
    expect(res.json().series).toEqual([]);
    const cmp = await post('/runs/compare', { runIds: [runA, foreign] });
    expect((cmp.json().runs as { runId: string }[]).map((r) => r.runId)).toEqual([runA]);
  });

  it('compares runs and names the differing keys', async () => {
    const res = await post('/runs/compare', { runIds: [runA, runB] });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.params.depth).toEqual({ [runA]: '6', [runB]: '8' });
    expect(body.metrics.auc).toEqual({ [runA]: 0.9, [runB]: 'NaN' });
    expect(body.differing).toEqual({ params: ['depth'], metrics: ['auc', 'loss'] });
  });

  const history = (runId: string, query: string, token = s.alpha) =>
    s.t.request('GET', `/api/v1/projects/alpha/runs/${runId}/metric-history?${query}`, { token });

  it('pages one metric as JSON columns, and as packed float64 with format=f64', async () => {
    const first = await history(runA, 'key=loss&maxResults=20');
    expect(first.statusCode, first.body).toBe(200);
    const page = first.json();
    expect(page.steps).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(page.values[3]).toBeCloseTo(0.25);
    const steps: number[] = [...page.steps];
    let token: string | undefined = page.nextPageToken;
    while (token) {
      const next = await history(runA, `key=loss&format=f64&maxResults=7&pageToken=${token}`);
      const n = Number(next.headers['x-falaj-points']);
      const body = next.rawPayload;
      expect(body.byteLength).toBe(24 * n);
      const cols = new Float64Array(new Uint8Array(body).buffer, 0, 3 * n);
      steps.push(...cols.subarray(0, n));
      expect(cols[n]).toBe(1000 + (cols[0] as number)); // timestamps follow the steps
      token = next.headers['x-falaj-next-page-token'] as string | undefined;
    }
    expect(steps).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect((await history(runB, 'key=auc')).json().values).toEqual(['NaN']);
  });

  it('refuses a foreign run, a missing key and an oversized JSON page', async () => {
    expect((await history(foreign, 'key=loss')).json().error.code).toBe('FALAJ_NOT_FOUND');
    expect((await history(runA, 'format=f64')).json().error.code).toBe('FALAJ_VALIDATION');
    expect((await history(runA, 'key=loss&maxResults=200000')).json().error.code).toBe('FALAJ_VALIDATION');
    expect((await history(runA, 'key=loss&maxResults=200000&format=f64')).statusCode).toBe(200);
    expect((await history(runA, 'key=loss', s.beta)).statusCode).toBe(403);
  });

  it('refuses bad input with stable codes and needs project access', async () => {
    expect((await post('/runs/compare', { runIds: [] })).json().error.code).toBe('FALAJ_VALIDATION');
    expect((await post('/runs/compare', { runIds: ['not-an-id'] })).json().error.code).toBe(
      'FALAJ_VALIDATION',
    );
    expect((await post('/runs/metric-series', { runIds: [runA], extra: 1 })).json().error.code).toBe(
      'FALAJ_VALIDATION',
    );
    const other = await post('/runs/compare', { runIds: [runA] }, s.beta);
    expect(other.statusCode).toBe(403);
    expect((await post('/runs/compare', { runIds: [runA] }, s.viewer)).statusCode).toBe(200);
  });
});
