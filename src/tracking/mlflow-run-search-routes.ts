import type { FalajApp } from '../http/services.js';
import { LIMITS } from './limits.js';
import { loadRuns } from './run-loader.js';
import { searchRunIds } from './search/index.js';
import { loose, type TrackingContext } from './tracking-context.js';
import { asRecord, parseMaxResults, parseStringList, parseViewType, validateString } from './validation.js';
import { wireRun } from './wire.js';

const P = '/api/2.0/mlflow';
const TAGS = ['mlflow'];

/** MLflow's run search: a filter, an order and pages over the project's runs (viewer). */
export function mlflowRunSearchRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { store } = ctx.svc;

  app.post(
    `${P}/runs/search`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: search runs with a filter, order and pages',
        body: loose({
          experiment_ids: 'list of ids',
          filter: "e.g. metrics.auc > 0.9 and params.depth = '6'",
          run_view_type: 'ACTIVE_ONLY | DELETED_ONLY | ALL',
          max_results: 'default 1000, at most 50000',
          order_by: 'list, e.g. metrics.auc DESC',
          page_token: 'from the previous page',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const filter =
        b.filter === undefined || b.filter === null ? undefined : validateString('filter', b.filter, 100_000);
      const pageToken =
        b.page_token === undefined || b.page_token === null || b.page_token === ''
          ? undefined
          : validateString('page_token', b.page_token, 10_000);
      const { runIds, nextPageToken } = await searchRunIds(store.db, store.dialect, {
        projectId: req.project!.id,
        experimentIds: await Promise.all(
          parseStringList('experiment_ids', b.experiment_ids).map((e) =>
            ctx.experiments.resolve(store.db, req.project!.id, e),
          ),
        ),
        ...(filter ? { filter } : {}),
        orderBy: parseStringList('order_by', b.order_by),
        maxResults: parseMaxResults(b.max_results, LIMITS.searchRunsDefault, LIMITS.searchRunsMax),
        ...(pageToken ? { pageToken } : {}),
        viewType: parseViewType('run_view_type', b.run_view_type),
      });
      const found = await loadRuns(store.db, runIds);
      return {
        ...(found.length > 0 ? { runs: found.map(wireRun) } : {}),
        ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
      };
    },
  );
}
