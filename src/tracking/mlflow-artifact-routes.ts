import { listChildren } from '../artifacts/artifact-children.js';
import { validateArtifactPath } from '../artifacts/artifact-paths.js';
import type { FalajApp } from '../http/services.js';
import { normalizeQuery, scalar } from './query.js';
import { loose, type TrackingContext } from './tracking-context.js';
import { runIdOf } from './validation.js';

/** Where a run's artifacts live in the project's core artifact store (see the run's artifact_uri). */
export function runArtifactPrefix(runId: string): string {
  return `runs/${runId}/artifacts/`;
}

/** MLflow's artifacts/list over the core `artifacts` table: the direct children of `path` (viewer). */
export function mlflowArtifactRoutes(app: FalajApp, ctx: TrackingContext): void {
  const { svc, runs } = ctx;
  app.get(
    '/api/2.0/mlflow/artifacts/list',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['mlflow'],
        summary: "MLflow: list a run's artifacts under a path",
        querystring: loose({
          run_id: '',
          run_uuid: 'legacy',
          path: 'relative to the run root',
          page_token: 'unused',
        }),
      },
    },
    async (req) => {
      const q = normalizeQuery(req.query);
      const id = runIdOf({ run_id: scalar(q.run_id), run_uuid: scalar(q.run_uuid) });
      const rawPath = scalar(q.path);
      const rel =
        typeof rawPath === 'string' && rawPath !== ''
          ? validateArtifactPath(rawPath.replace(/\/+$/, ''))
          : '';
      const run = await runs.require(svc.store.db, req.project!.id, id);
      const root = runArtifactPrefix(id).replace(/\/$/, '');
      const children = await listChildren(svc.store.db, req.project!.id, rel ? `${root}/${rel}` : root);
      const files = children.map((c) => ({
        path: rel ? `${rel}/${c.name}` : c.name,
        is_dir: c.isDir,
        ...(c.isDir ? {} : { file_size: c.size }),
      }));
      return { root_uri: run.artifact_uri, ...(files.length > 0 ? { files } : {}) };
    },
  );
}
