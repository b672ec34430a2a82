import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FalajError } from '../core/errors.js';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { installMlflowErrorHandler } from '../tracking/mlflow-errors.js';
import { listChildren } from './artifact-children.js';
import { validateArtifactPath } from './artifact-paths.js';

const PREFIX = '/api/2.0/mlflow-artifacts/artifacts';
const FileParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  '*': Type.String(),
});

export interface FileHandlers {
  putFile(req: FastifyRequest, reply: FastifyReply, artifactPath: string): Promise<unknown>;
  getFile(req: FastifyRequest, reply: FastifyReply, artifactPath: string): Promise<unknown>;
  deleteFile(req: FastifyRequest, artifactPath: string): Promise<void>;
}

/**
 * MLflow's artifact proxy (`mlflow server --serve-artifacts`), which MLflow clients use for
 * runs whose artifact_uri is `mlflow-artifacts:/<project>/runs/<id>/artifacts`: the URI's
 * path is `<project>/<path in the project's artifact store>`, so the same encrypted store,
 * permissions (viewer reads, editor writes, maintainer deletes) and audit apply as on
 * /api/v1. Errors in MLflow's shape.
 */
export async function mlflowArtifactProxy(
  scope: FalajApp,
  svc: Services,
  files: FileHandlers,
): Promise<void> {
  await scope.register(async (inner) => {
    const routes = inner as unknown as FalajApp;
    installMlflowErrorHandler(routes);

    routes.put(
      `${PREFIX}/:project/*`,
      {
        config: { permission: 'project:editor' },
        schema: {
          tags: ['mlflow'],
          summary: 'MLflow artifact proxy: upload a file (streamed)',
          params: FileParams,
        },
      },
      async (req, reply) => {
        await files.putFile(req, reply, validateArtifactPath(req.params['*']));
        return reply.status(200).send({});
      },
    );

    routes.get(
      `${PREFIX}/:project/*`,
      {
        config: { permission: 'project:viewer' },
        schema: { tags: ['mlflow'], summary: 'MLflow artifact proxy: download a file', params: FileParams },
      },
      async (req, reply) => files.getFile(req, reply, validateArtifactPath(req.params['*'])),
    );

    routes.delete(
      `${PREFIX}/:project/*`,
      {
        config: { permission: 'project:maintainer' },
        schema: { tags: ['mlflow'], summary: 'MLflow artifact proxy: delete a file', params: FileParams },
      },
      async (req, reply) => {
        await files.deleteFile(req, validateArtifactPath(req.params['*']));
        return reply.status(200).send({});
      },
    );

    // The listing names its directory in the query, so the project comes from the caller's
    // token (or X-Falaj-Project) and must be the path's first segment.
    routes.get(
      PREFIX,
      {
        config: { permission: 'project:viewer' },
        schema: {
          tags: ['mlflow'],
          summary: 'MLflow artifact proxy: the direct children of a directory',
          querystring: Type.Object({ path: Type.Optional(Type.String()) }, { additionalProperties: true }),
        },
      },
      async (req) => {
        const project = req.project!;
        const full = (req.query.path ?? '').replace(/^\/+|\/+$/g, '');
        const [first, ...rest] = full === '' ? [''] : full.split('/');
        if (first !== project.name)
          throw new FalajError(
            'FALAJ_INVALID_ARGUMENT',
            `artifact path must start with this token's project '${project.name}/'`,
          );
        const dir = rest.length > 0 ? validateArtifactPath(rest.join('/')) : '';
        const children = await listChildren(svc.store.db, project.id, dir);
        // MLflow's proxy answers with names relative to the listed directory.
        const files = children.map((c) => ({
          path: c.name,
          is_dir: c.isDir,
          ...(c.isDir ? {} : { file_size: c.size }),
        }));
        return files.length > 0 ? { files } : {};
      },
    );
  });
}
