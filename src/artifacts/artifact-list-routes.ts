// The listing of a project's artifact files, a page at a time.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import type { ArtifactsTable } from '../store/schema.js';
import { validateArtifactPath, validateArtifactPrefix } from './artifact-paths.js';
import { listArtifactPage } from './artifact-rows.js';

const ArtifactSchema = Type.Object({
  path: Type.String(),
  digest: Type.String(),
  size: Type.Number(),
  contentType: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
});

function toView(row: ArtifactsTable) {
  return {
    path: row.path,
    digest: row.digest,
    size: Number(row.size),
    contentType: row.content_type,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    createdBy: row.created_by,
  };
}

/** Artifact files of a project: the listing, ordered by path. */
export async function artifactListRoutes(app: FalajApp, svc: Services): Promise<void> {
  app.get(
    '/api/v1/projects/:project/artifacts',
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['artifacts'],
        summary: 'List files, ordered by path (page with `after` = the previous page’s `next`)',
        params: Type.Object({ project: Type.String({ pattern: PROJECT_NAME_PATTERN }) }),
        querystring: Type.Object(
          {
            prefix: Type.Optional(Type.String()),
            after: Type.Optional(Type.String()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            artifacts: Type.Array(ArtifactSchema),
            next: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (req) => {
      const prefix = validateArtifactPrefix(req.query.prefix);
      const after = req.query.after === undefined ? undefined : validateArtifactPath(req.query.after);
      const limit = req.query.limit ?? 100;
      const { rows, next } = await listArtifactPage(svc.store.db, req.project!.id, { prefix, after, limit });
      return { artifacts: rows.map(toView), next };
    },
  );
}
