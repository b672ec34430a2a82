import type { FastifyRequest } from 'fastify';
import type { FalajApp } from '../http/services.js';
import { LIMITS } from './limits.js';
import { decodePageToken } from './page-token.js';
import { normalizeQuery, scalar } from './query.js';
import { loose, type TrackingContext } from './tracking-context.js';
import { asRecord, parseMaxResults, parseStringList, parseViewType, validateString } from './validation.js';
import { wireExperiment } from './wire.js';

const P = '/api/2.0/mlflow/experiments';
const TAGS = ['mlflow'];

/** MLflow's experiment search, by query string or JSON body, and the legacy list (viewer). */
export function mlflowExperimentSearchRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, experiments } = ctx;
  const project = (req: FastifyRequest) => req.project!;

  const search = async (req: FastifyRequest, input: Record<string, unknown>, legacy: boolean) => {
    const filter = scalar(input.filter);
    const result = await experiments.search(svc.store.db, {
      projectId: project(req).id,
      viewType: parseViewType('view_type', input.view_type),
      filter: filter === undefined || filter === null ? undefined : validateString('filter', filter, 10_000),
      orderBy: parseStringList('order_by', input.order_by),
      maxResults: parseMaxResults(
        scalar(input.max_results),
        // experiments/list returned everything; a page of the maximum size is the nearest.
        legacy ? LIMITS.searchExperimentsMax : LIMITS.searchExperimentsDefault,
        LIMITS.searchExperimentsMax,
      ),
      pageToken: decodePageToken(input.page_token),
    });
    return {
      ...(result.experiments.length > 0 ? { experiments: result.experiments.map(wireExperiment) } : {}),
      ...(result.nextPageToken ? { next_page_token: result.nextPageToken } : {}),
    };
  };
  const searchFields = {
    max_results: 'page size (default 1000)',
    page_token: 'from the previous page',
    filter: "e.g. name LIKE 'fraud%' and tags.team = 'risk'",
    order_by: 'list, e.g. name ASC',
    view_type: 'ACTIVE_ONLY | DELETED_ONLY | ALL',
  };
  app.get(
    `${P}/search`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: search experiments (query string)',
        querystring: loose(searchFields),
      },
    },
    async (req) => search(req, normalizeQuery(req.query), false),
  );
  app.post(
    `${P}/search`,
    {
      config: { permission: 'project:viewer' },
      schema: { tags: TAGS, summary: 'MLflow: search experiments (JSON body)', body: loose(searchFields) },
    },
    async (req) => search(req, asRecord(req.body), false),
  );
  app.get(
    `${P}/list`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow (legacy, removed in MLflow 2.0): list experiments',
        querystring: loose({
          view_type: 'ACTIVE_ONLY | DELETED_ONLY | ALL',
          max_results: 'page size',
          page_token: '',
        }),
      },
    },
    async (req) => search(req, normalizeQuery(req.query), true),
  );
}
