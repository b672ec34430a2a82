import type { FalajApp } from '../http/services.js';
import { LIMITS } from './limits.js';
import { metricHistory } from './metric-store.js';
import { normalizeQuery, scalar } from './query.js';
import { loose, RUN_ID, type TrackingContext } from './tracking-context.js';
import { invalid, parseMaxResults, runIdOf } from './validation.js';
import { historyJson } from './wire.js';

const P = '/api/2.0/mlflow';
const TAGS = ['mlflow'];

/** MLflow's metric history of a run, in pages (viewer). */
export function mlflowMetricRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, runs } = ctx;
  const { store } = svc;

  app.get(
    `${P}/metrics/get-history`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: the history of one metric of a run, in pages',
        querystring: loose({ ...RUN_ID, metric_key: '', page_token: '', max_results: 'default 25000' }),
      },
    },
    async (req, reply) => {
      const q = normalizeQuery(req.query);
      const id = runIdOf({ run_id: scalar(q.run_id), run_uuid: scalar(q.run_uuid) });
      const key = scalar(q.metric_key);
      if (typeof key !== 'string' || key === '')
        throw invalid("Missing value for required parameter 'metric_key'");
      const max = parseMaxResults(scalar(q.max_results), LIMITS.historyDefault, LIMITS.historyMax);
      await runs.require(store.db, req.project!.id, id);
      const page = await metricHistory(store.db, id, key, max, q.page_token);
      return reply.type('application/json; charset=utf-8').send(historyJson(page));
    },
  );
}
