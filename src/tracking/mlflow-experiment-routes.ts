import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import type { FalajApp } from '../http/services.js';
import { validateExperimentName } from './experiment-store.js';
import { LIMITS } from './limits.js';
import { decodePageToken } from './page-token.js';
import { normalizeQuery, scalar } from './query.js';
import { loose, type TrackingContext } from './tracking-context.js';
import {
  asRecord,
  invalid,
  parseMaxResults,
  parseStringList,
  parseTags,
  parseViewType,
  validateKey,
  validateString,
} from './validation.js';
import { wireExperiment } from './wire.js';

const P = '/api/2.0/mlflow/experiments';
const TAGS = ['mlflow'];

function experimentIdOf(value: unknown): string {
  const id = scalar(value);
  if (id === undefined || id === null || id === '')
    throw invalid("Missing value for required parameter 'experiment_id'");
  return validateString('experiment_id', id, 64);
}

/** MLflow's experiments endpoints (reads: viewer; changes: editor; delete and restore: maintainer). */
export function mlflowExperimentRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, experiments } = ctx;
  const project = (req: FastifyRequest) => req.project!;
  /** The request's experiment id, MLflow's "0" resolved to the project's default experiment. */
  const idOf = (req: FastifyRequest, value: unknown) =>
    experiments.resolve(svc.store.db, project(req).id, experimentIdOf(value));

  app.post(
    `${P}/create`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: create an experiment',
        body: loose({
          name: 'unique within the project',
          artifact_location: 'optional',
          tags: '[{key, value}]',
        }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const name = validateExperimentName(b.name);
      const artifactLocation =
        b.artifact_location === undefined || b.artifact_location === null || b.artifact_location === ''
          ? undefined
          : validateString('artifact_location', b.artifact_location, 2000);
      const tags = parseTags('tags', b.tags);
      return audited(svc, req, async (tx) => {
        const id = await experiments.create(tx, {
          projectId: project(req).id,
          projectName: project(req).name,
          name,
          artifactLocation,
          tags,
          now: svc.clock.now(),
        });
        return {
          result: { experiment_id: id },
          audit: {
            action: 'experiment.create',
            objectType: 'experiment',
            objectId: id,
            projectId: project(req).id,
            details: { name },
          },
        };
      });
    },
  );

  app.get(
    `${P}/get`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: get an experiment by id',
        querystring: loose({ experiment_id: 'id' }),
      },
    },
    async (req) => {
      const q = normalizeQuery(req.query);
      const e = await experiments.get(svc.store.db, project(req).id, await idOf(req, q.experiment_id));
      return { experiment: wireExperiment(e) };
    },
  );

  app.get(
    `${P}/get-by-name`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: get an experiment by name',
        querystring: loose({ experiment_name: 'name' }),
      },
    },
    async (req) => {
      const q = normalizeQuery(req.query);
      const name = scalar(q.experiment_name);
      if (typeof name !== 'string' || name === '')
        throw invalid("Missing value for required parameter 'experiment_name'");
      return { experiment: wireExperiment(await experiments.getByName(svc.store.db, project(req).id, name)) };
    },
  );

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

  app.post(
    `${P}/update`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: rename an experiment',
        body: loose({ experiment_id: 'id', new_name: 'name' }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = await idOf(req, b.experiment_id);
      const newName = validateExperimentName(b.new_name);
      return audited(svc, req, async (tx) => {
        const oldName = await experiments.rename(tx, project(req).id, id, newName, svc.clock.now());
        return {
          result: {},
          audit: {
            action: 'experiment.rename',
            objectType: 'experiment',
            objectId: id,
            projectId: project(req).id,
            details: { from: oldName, to: newName },
          },
        };
      });
    },
  );

  for (const action of ['delete', 'restore'] as const) {
    app.post(
      `${P}/${action}`,
      {
        config: { permission: 'project:maintainer' },
        schema: {
          tags: TAGS,
          summary:
            action === 'delete'
              ? 'MLflow: delete an experiment (soft: it and its active runs are marked deleted)'
              : 'MLflow: restore a deleted experiment and the runs deleted with it',
          body: loose({ experiment_id: 'id' }),
        },
      },
      async (req) => {
        const id = await idOf(req, asRecord(req.body).experiment_id);
        return audited(svc, req, async (tx) => {
          await experiments[action](tx, project(req).id, id, svc.clock.now());
          return {
            result: {},
            audit: {
              action: `experiment.${action}`,
              objectType: 'experiment',
              objectId: id,
              projectId: project(req).id,
            },
          };
        });
      },
    );
  }

  app.post(
    `${P}/set-experiment-tag`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: set an experiment tag',
        body: loose({ experiment_id: 'id', key: '', value: '' }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = await idOf(req, b.experiment_id);
      const key = validateKey('tag', b.key);
      const value = validateString('value', b.value, LIMITS.tagValueLength);
      return audited(svc, req, async (tx) => {
        await experiments.requireActive(tx, project(req).id, id);
        await experiments.setTags(tx, id, [{ key, value }]);
        return {
          result: {},
          audit: {
            action: 'experiment.tag.set',
            objectType: 'experiment',
            objectId: id,
            projectId: project(req).id,
            details: { key },
          },
        };
      });
    },
  );

  app.post(
    `${P}/delete-experiment-tag`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: delete an experiment tag',
        body: loose({ experiment_id: 'id', key: '' }),
      },
    },
    async (req) => {
      const b = asRecord(req.body);
      const id = await idOf(req, b.experiment_id);
      const key = validateKey('tag', b.key);
      return audited(svc, req, async (tx) => {
        await experiments.requireActive(tx, project(req).id, id);
        await experiments.deleteTag(tx, id, key);
        return {
          result: {},
          audit: {
            action: 'experiment.tag.delete',
            objectType: 'experiment',
            objectId: id,
            projectId: project(req).id,
            details: { key },
          },
        };
      });
    },
  );
}
