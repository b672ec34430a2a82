import { sql } from 'kysely';
import { validateArtifactPath } from '../artifacts/artifact-paths.js';
import type { FalajApp } from '../server/services.js';
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
      const root = runArtifactPrefix(id);
      const prefix = rel ? `${root}${rel}/` : root;
      const rows = await svc.store.db
        .selectFrom('artifacts')
        .select(['path', 'size'])
        .where('project_id', '=', req.project!.id)
        .where(sql<boolean>`substr(path, 1, length(cast(${prefix} as text))) = ${prefix}`)
        .orderBy('path')
        .execute();
      const files: { path: string; is_dir: boolean; file_size?: number }[] = [];
      const dirs = new Set<string>();
      for (const r of rows) {
        const rest = r.path.slice(prefix.length);
        const slash = rest.indexOf('/');
        const childRel = (rel ? `${rel}/` : '') + (slash < 0 ? rest : rest.slice(0, slash));
        if (slash < 0) files.push({ path: childRel, is_dir: false, file_size: Number(r.size) });
        else if (!dirs.has(childRel)) {
          dirs.add(childRel);
          files.push({ path: childRel, is_dir: true });
        }
      }
      files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return { root_uri: run.artifact_uri, ...(files.length > 0 ? { files } : {}) };
    },
  );
}
