import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import type { FalajApp } from '../http/services.js';
import { validateExperimentName } from './experiment-store.js';
import { normalizeQuery, scalar } from './query.js';
import { experimentIdIn, loose, type TrackingContext } from './tracking-context.js';
import { asRecord, invalid, parseTags, validateString } from './validation.js';
import { wireExperiment } from './wire.js';

const P = '/api/2.0/mlflow/experiments';
const TAGS = ['mlflow'];

/**
 * MLflow's experiments endpoints: create (editor), get by id or name (viewer). Search is in
 * mlflow-experiment-search-routes.ts; rename, delete and restore in
 * mlflow-experiment-change-routes.ts; tags in mlflow-experiment-tag-routes.ts.
 */
export function mlflowExperimentRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, experiments } = ctx;
  const project = (req: FastifyRequest) => req.project!;
  const idOf = (req: FastifyRequest, value: unknown) => experimentIdIn(ctx, req, value);

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
}
