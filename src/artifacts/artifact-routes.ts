import type { IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { FalajError } from '../core/errors.js';
import { audited } from '../http/audited.js';
import type { ProjectAccess } from '../http/identity.js';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import type { Executor } from '../store/executor.js';
import type { ArtifactsTable } from '../store/schema.js';

import { validateArtifactPath, validateArtifactPrefix } from './artifact-paths.js';
import { mlflowArtifactProxy } from './mlflow-artifact-proxy.js';

const FileParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  // Checked by validateArtifactPath (FALAJ_INVALID_PATH), not by the schema (FALAJ_VALIDATION).
  '*': Type.String(),
});

const ArtifactSchema = Type.Object({
  path: Type.String(),
  digest: Type.String(),
  size: Type.Number(),
  contentType: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
});

const PutResultSchema = Type.Object({ path: Type.String(), digest: Type.String(), size: Type.Number() });

const CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[^"\r\n]*"|[\w.+-]+))*$/;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The client's Content-Type, kept as metadata when it is well formed; never used to serve. */
function contentTypeOf(header: string | undefined): string {
  if (!header || header.length > 200 || !CONTENT_TYPE.test(header)) return DEFAULT_CONTENT_TYPE;
  return header;
}

/**
 * The request body as a stream the store may destroy on error (past the size limit, say)
 * without destroying the socket, so that the client still gets its 413. A client that goes
 * away mid-upload errors the stream, so the store removes what it had written.
 */
function uploadSource(raw: IncomingMessage): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const cutOff = () => {
    if (!out.destroyed) {
      out.destroy(new FalajError('FALAJ_INVALID_ARGUMENT', 'the upload was cut off before its end'));
    }
  };
  raw.once('aborted', cutOff);
  raw.once('error', cutOff);
  raw.once('close', () => {
    if (!raw.readableEnded) cutOff();
  });
  raw.pipe(out);
  return out;
}

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

async function requireArtifact(
  db: Executor,
  project: ProjectAccess,
  artifactPath: string,
): Promise<ArtifactsTable> {
  const row = await db
    .selectFrom('artifacts')
    .selectAll()
    .where('project_id', '=', project.id)
    .where('path', '=', artifactPath)
    .executeTakeFirst();
  if (!row) {
    throw new FalajError(
      'FALAJ_NOT_FOUND',
      `artifact '${artifactPath}' does not exist in '${project.name}'`,
      {
        path: artifactPath,
      },
    );
  }
  return row;
}

/** Artifact files of a project: streamed upload and download, listing, deletion. */
export async function artifactRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock } = svc;
  const reaper = svc.reaper;

  /** Streams an upload into the store and records it at `artifactPath` (audited). */
  async function putFile(
    req: FastifyRequest,
    reply: FastifyReply,
    artifactPath: string,
  ): Promise<{ path: string; digest: string; size: number }> {
    const raw = req.raw;
    const project = req.project!;
    try {
      const max = svc.config.maxArtifactBytes;
      const declared = Number(req.headers['content-length'] ?? Number.NaN);
      if (declared > max) {
        throw new FalajError('FALAJ_PAYLOAD_TOO_LARGE', `artifact exceeds the limit of ${max} bytes`, {
          maxBytes: max,
        });
      }
      const contentType = contentTypeOf(req.headers['content-type']);
      const release = await reaper.enter();
      let replaced: string | undefined;
      let stored: string | undefined;
      let committed = false;
      try {
        const { digest, size } = await svc.artifacts.put(uploadSource(raw), { maxBytes: max });
        stored = digest;
        const result = await audited(
          svc,
          req,
          async (tx) => {
            const previous = await tx
              .selectFrom('artifacts')
              .select(['digest', 'size'])
              .where('project_id', '=', project.id)
              .where('path', '=', artifactPath)
              .executeTakeFirst();
            const row = {
              project_id: project.id,
              path: artifactPath,
              digest,
              size,
              content_type: contentType,
              created_at: clock.now(),
              created_by: req.identity!.username,
            };
            await tx
              .insertInto('artifacts')
              .values(row)
              .onConflict((oc) =>
                oc.columns(['project_id', 'path']).doUpdateSet({
                  digest,
                  size,
                  content_type: contentType,
                  created_at: row.created_at,
                  created_by: row.created_by,
                }),
              )
              .execute();
            replaced = previous && previous.digest !== digest ? previous.digest : undefined;
            return {
              result: { path: artifactPath, digest, size },
              audit: {
                action: previous ? 'artifact.replace' : 'artifact.put',
                objectType: 'artifact',
                objectId: `${project.name}/${artifactPath}`,
                projectId: project.id,
                details: { digest, size, ...(previous ? { previousDigest: previous.digest } : {}) },
              },
            };
          },
          201,
        );
        committed = true;
        return result;
      } finally {
        release();
        if (replaced) void reaper.consider(replaced);
        // The row could not be written: the blob goes too, unless another row uses it.
        if (stored && !committed) void reaper.consider(stored);
      }
    } catch (err) {
      // The rest of a refused body is not read: the connection closes after the answer.
      if (!raw.readableEnded) void reply.header('connection', 'close');
      throw err;
    }
  }

  /** Streams a stored file out (HEAD: headers only; If-None-Match: 304). */
  async function getFile(req: FastifyRequest, reply: FastifyReply, artifactPath: string) {
    const project = req.project!;
    const row = await requireArtifact(store.db, project, artifactPath);
    const etag = `"${row.digest}"`;
    void reply
      .header('x-falaj-digest', row.digest)
      .header('etag', etag)
      .header('cache-control', 'private, no-cache')
      .header('x-content-type-options', 'nosniff');
    if (req.headers['if-none-match'] === etag) return reply.status(304).send();
    // HEAD (Fastify routes it here) needs the headers only: no need to decrypt the blob. An
    // empty stream keeps the content-length (Fastify's HEAD hook would zero it for no payload).
    if (req.method === 'HEAD') {
      return reply
        .header('content-type', DEFAULT_CONTENT_TYPE)
        .header('content-length', String(row.size))
        .send(Readable.from([]));
    }
    // The store authenticates the first chunk before it answers: damage there is a JSON error;
    // damage found later destroys the connection, so the body falls short of content-length.
    const body = await svc.artifacts.get(row.digest);
    const name = artifactPath.slice(artifactPath.lastIndexOf('/') + 1);
    // Served as opaque bytes whatever the uploader claimed: a stored HTML file must not run
    // in the API's origin. The claimed type is in the listing.
    return reply
      .header('content-type', DEFAULT_CONTENT_TYPE)
      .header('content-length', String(row.size))
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
      .send(body);
  }

  /** Removes the file at `artifactPath` (audited); its blob goes when nothing else uses it. */
  async function deleteFile(req: FastifyRequest, artifactPath: string): Promise<void> {
    const project = req.project!;
    const digest = await audited(svc, req, async (tx) => {
      const row = await requireArtifact(tx, project, artifactPath);
      await tx
        .deleteFrom('artifacts')
        .where('project_id', '=', project.id)
        .where('path', '=', artifactPath)
        .execute();
      return {
        result: row.digest,
        audit: {
          action: 'artifact.delete',
          objectType: 'artifact',
          objectId: `${project.name}/${artifactPath}`,
          projectId: project.id,
          details: { digest: row.digest, size: Number(row.size) },
        },
      };
    });
    await reaper.consider(digest);
  }

  await app.register(async (scoped) => {
    const routes = scoped as unknown as FalajApp;
    // Upload bodies are streamed to the store as they arrive, whatever their type: no parser
    // buffers them (and the JSON body limit does not apply; maxArtifactBytes does).
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    routes.put(
      '/api/v1/projects/:project/artifacts/files/*',
      {
        config: { permission: 'project:editor' },
        schema: {
          tags: ['artifacts'],
          summary: 'Upload a file (the raw request body, streamed); replaces what the path held',
          params: FileParams,
          response: { 201: PutResultSchema },
        },
      },
      async (req, reply) => {
        const result = await putFile(req, reply, validateArtifactPath(req.params['*']));
        return reply.status(201).send(result);
      },
    );

    routes.get(
      '/api/v1/projects/:project/artifacts/files/*',
      {
        config: { permission: 'project:viewer' },
        schema: {
          tags: ['artifacts'],
          summary:
            'Download a file (streamed; x-falaj-digest and ETag carry its SHA-256; a connection cut short means damaged data)',
          params: FileParams,
        },
      },
      async (req, reply) => getFile(req, reply, validateArtifactPath(req.params['*'])),
    );

    routes.delete(
      '/api/v1/projects/:project/artifacts/files/*',
      {
        config: { permission: 'project:maintainer' },
        schema: {
          tags: ['artifacts'],
          summary: 'Delete a file (its stored blob goes when no other path references it)',
          params: FileParams,
          response: { 204: Type.Null() },
        },
      },
      async (req, reply) => {
        await deleteFile(req, validateArtifactPath(req.params['*']));
        return reply.status(204).send(null);
      },
    );

    routes.get(
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
        let q = store.db
          .selectFrom('artifacts')
          .selectAll()
          .where('project_id', '=', req.project!.id)
          .orderBy('path')
          .limit(limit + 1);
        // substr, not LIKE: LIKE is case-insensitive on SQLite and would need escaping of % and _.
        if (prefix) q = q.where(sql<boolean>`substr(path, 1, length(cast(${prefix} as text))) = ${prefix}`);
        if (after !== undefined) q = q.where('path', '>', after);
        const rows = await q.execute();
        const page = rows.slice(0, limit);
        return {
          artifacts: page.map(toView),
          next: rows.length > limit ? (page[page.length - 1]?.path ?? null) : null,
        };
      },
    );

    await mlflowArtifactProxy(routes, svc, { putFile, getFile, deleteFile });
  });
}
