import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import type { FalajApp } from '../http/services.js';
import { LIMITS } from './limits.js';
import { experimentIdIn, loose, type TrackingContext } from './tracking-context.js';
import { asRecord, validateKey, validateString } from './validation.js';

const P = '/api/2.0/mlflow/experiments';
const TAGS = ['mlflow'];

/** MLflow's experiment tags: set and delete (editor), on an active experiment. */
export function mlflowExperimentTagRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, experiments } = ctx;
  const project = (req: FastifyRequest) => req.project!;
  const idOf = (req: FastifyRequest, value: unknown) => experimentIdIn(ctx, req, value);

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
