import type { LightMyRequestResponse } from 'fastify';
import { createTestContext, type TestContext } from '../support/app.js';
import type { DialectName } from '../support/dialects.js';

export const ML = '/api/2.0/mlflow';

export interface TrackingTest {
  t: TestContext;
  /** Project API tokens (admin role) of the projects `alpha` and `beta`. */
  alpha: string;
  beta: string;
  /** A viewer's API token on `alpha`. */
  viewer: string;
  /** MLflow call: GET takes `query` (arrays become repeated keys), the rest a JSON body. */
  ml(
    method: 'GET' | 'POST',
    path: string,
    opts?: {
      token?: string;
      body?: unknown;
      query?: Record<string, string | string[]>;
      headers?: Record<string, string>;
    },
  ): Promise<LightMyRequestResponse>;
  /** Row counts of every tracking table and the audit log (`metrics`: history points). */
  counts(): Promise<Record<TableName, number>>;
  close(): Promise<void>;
}

type TableName = (typeof TABLES)[number];
const TABLES = [
  'experiments',
  'experiment_tags',
  'runs',
  'params',
  'run_tags',
  'metrics',
  'latest_metrics',
  'datasets',
  'run_inputs',
  'audit_events',
] as const;

export async function setupTracking(dialect: DialectName): Promise<TrackingTest> {
  const t = await createTestContext(dialect);
  const token = async (project: string, role: string, session = t.adminToken) => {
    const res = await t.request('POST', `/api/v1/projects/${project}/tokens`, {
      token: session,
      body: { name: `${project}-${role}`, role },
    });
    if (res.statusCode !== 201) throw new Error(`token: ${res.statusCode} ${res.body}`);
    return (res.json() as { token: string }).token;
  };
  for (const name of ['alpha', 'beta']) {
    const res = await t.request('POST', '/api/v1/projects', { token: t.adminToken, body: { name } });
    if (res.statusCode !== 201) throw new Error(`project: ${res.statusCode} ${res.body}`);
  }
  const alpha = await token('alpha', 'admin');
  const beta = await token('beta', 'admin');
  const viewer = await token('alpha', 'viewer');
  const ml: TrackingTest['ml'] = (method, path, opts = {}) => {
    let url = `${ML}/${path}`;
    if (opts.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) for (const one of [v].flat()) qs.append(k, one);
      url += `?${qs.toString()}`;
    }
    return t.app.inject({
      method,
      url,
      headers: {
        ...(opts.token === '' ? {} : { authorization: `Bearer ${opts.token ?? alpha}` }),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
    });
  };
  return {
    t,
    alpha,
    beta,
    viewer,
    ml,
    async counts(): Promise<Record<TableName, number>> {
      const out = {} as Record<TableName, number>;
      const db = t.svc.store.db;
      for (const table of TABLES) {
        // History is stored in chunks of points: `metrics` counts the points themselves.
        const row =
          table === 'metrics'
            ? await db
                .selectFrom('metric_chunks')
                .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('n'), eb.lit(0)).as('n'))
                .executeTakeFirstOrThrow()
            : await db
                .selectFrom(table)
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .executeTakeFirstOrThrow();
        out[table] = Number(row.n);
      }
      return out;
    },
    close: () => t.close(),
  };
}

/** Creates an experiment and a run in it; returns their ids. */
export async function experimentAndRun(
  x: TrackingTest,
  name: string,
  token?: string,
): Promise<{ experimentId: string; runId: string }> {
  const e = await x.ml('POST', 'experiments/create', { body: { name }, ...(token ? { token } : {}) });
  if (e.statusCode !== 200) throw new Error(`create experiment: ${e.statusCode} ${e.body}`);
  const experimentId = (e.json() as { experiment_id: string }).experiment_id;
  const r = await x.ml('POST', 'runs/create', {
    body: { experiment_id: experimentId },
    ...(token ? { token } : {}),
  });
  if (r.statusCode !== 200) throw new Error(`create run: ${r.statusCode} ${r.body}`);
  return { experimentId, runId: (r.json() as { run: { info: { run_id: string } } }).run.info.run_id };
}
