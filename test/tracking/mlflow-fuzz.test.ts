// Property test: random JSON bodies and random query strings at every MLflow endpoint, from a
// seeded PRNG (failures reproduce). Whatever arrives, the answer is never a 5xx, and every
// error is in MLflow's shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { prng } from '../support/prng.js';
import { experimentAndRun, setupTracking, type TrackingTest } from './helpers.js';

const FIELDS = [
  // The model registry's fields, which share the MLflow surface.
  'version',
  'alias',
  'source',
  'stage',
  'archive_existing_versions',
  'description',
  'stages',
  'run_id',
  'run_uuid',
  'experiment_id',
  'experiment_ids',
  'name',
  'new_name',
  'key',
  'value',
  'timestamp',
  'step',
  'metrics',
  'params',
  'tags',
  'datasets',
  'filter',
  'order_by',
  'max_results',
  'page_token',
  'view_type',
  'run_view_type',
  'status',
  'end_time',
  'start_time',
  'run_name',
  'metric_key',
  'path',
  'experiment_name',
  'artifact_location',
  'dataset',
];

describe.each(DIALECTS)('MLflow API under random input on %s', (dialect) => {
  let x: TrackingTest;
  let ids: { experimentId: string; runId: string };
  beforeAll(async () => {
    x = await setupTracking(dialect);
    ids = await experimentAndRun(x, 'fuzz');
  });
  afterAll(async () => x?.close());

  it('never answers 5xx to a few hundred random bodies and queries per endpoint', async () => {
    const rand = prng(20261126);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
    const strings = () =>
      pick([
        '',
        'NaN',
        'Infinity',
        '-Infinity',
        '1e309',
        '-0',
        "'; DROP TABLE runs; --",
        'a\u0000b',
        '\ud800',
        '../..',
        'metrics.auc > 0.9',
        "params.x = 'unterminated",
        'name LIKE',
        '`',
        'tags.`a b` = "c"',
        ids.runId,
        ids.experimentId,
        'x'.repeat(300),
        'x'.repeat(9000),
        'ACTIVE_ONLY',
        'ALL',
        'FINISHED',
        '9'.repeat(25),
        'eyJvZmZzZXQiOi0xfQ',
        'ü/ß',
      ]);
    const value = (depth: number): unknown => {
      const r = rand();
      if (r < 0.25) return strings();
      if (r < 0.45)
        return pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER, 50_001, 0.1]);
      if (r < 0.52) return pick([true, false, null]);
      if (depth > 2) return strings();
      if (r < 0.76) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return body(depth + 1);
    };
    const body = (depth: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      const n = Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) out[rand() < 0.9 ? pick(FIELDS) : `junk${i}`] = value(depth);
      // Half the time, aim at the real run/experiment so the deeper code is reached.
      if (rand() < 0.5) out.run_id = ids.runId;
      if (rand() < 0.5) out.experiment_id = ids.experimentId;
      return out;
    };
    const routes = x.t.app.falajRoutes.filter((r) => r.url.startsWith('/api/2.0/mlflow/'));
    // 25 tracking routes and 22 of the model registry.
    expect(routes.length).toBe(47);
    const failures: string[] = [];
    for (const route of routes) {
      for (let i = 0; i < 100; i++) {
        let res: Awaited<ReturnType<TrackingTest['ml']>>;
        const path = route.url.slice('/api/2.0/mlflow/'.length);
        if (route.method === 'GET') {
          const query: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(body(1)))
            query[k] = Array.isArray(v) ? v.map(String) : String(v);
          res = await x.ml('GET', path, { query });
        } else if (rand() < 0.1) {
          res = await x.t.app.inject({
            method: route.method as 'POST',
            url: route.url,
            headers: { authorization: `Bearer ${x.alpha}`, 'content-type': 'application/json' },
            payload: pick([
              '[1,2]',
              '"x"',
              '42',
              'null',
              '{"a":',
              '{"value": NaN}',
              '{"run_id": Infinity}',
              '',
            ]),
          });
        } else {
          res = await x.ml(route.method as 'POST', path, { body: body(0) });
        }
        if (res.statusCode >= 500)
          failures.push(`${route.method} ${route.url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        else if (res.statusCode >= 400) {
          const err = res.json() as { error_code?: unknown; message?: unknown };
          if (typeof err.error_code !== 'string' || typeof err.message !== 'string')
            failures.push(
              `${route.method} ${route.url}: not MLflow's error shape: ${res.body.slice(0, 200)}`,
            );
        }
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
  }, 180_000);
});
