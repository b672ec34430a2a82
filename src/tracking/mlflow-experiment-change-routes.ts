import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import type { FalajApp } from '../http/services.js';
import { validateExperimentName } from './experiment-store.js';
import { experimentIdIn, loose, type TrackingContext } from './tracking-context.js';
import { asRecord } from './validation.js';

const P = '/api/2.0/mlflow/experiments';
const TAGS = ['mlflow'];

/** Changes to an experiment: rename (MLflow's update; editor), delete and restore (maintainer). */
export function mlflowExperimentChangeRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, experiments } = ctx;
  const project = (req: FastifyRequest) => req.project!;
  const idOf = (req: FastifyRequest, value: unknown) => experimentIdIn(ctx, req, value);

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
}
