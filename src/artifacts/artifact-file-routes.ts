// An artifact file of a project, by path: streamed upload, download (HEAD, If-None-Match) and
// deletion; the same handlers serve MLflow's artifact proxy (./mlflow-artifact-proxy.ts).
import type { IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FalajError } from '../core/errors.js';
import { audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { validateArtifactPath } from './artifact-paths.js';
import { deleteArtifactRow, findArtifact, requireArtifact, upsertArtifact } from './artifact-rows.js';
import { type FileHandlers, mlflowArtifactProxy } from './mlflow-artifact-proxy.js';

const FileParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  // Checked by validateArtifactPath (FALAJ_INVALID_PATH), not by the schema (FALAJ_VALIDATION).
  '*': Type.String(),
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

/** Upload, download and deletion of the file at a path, for the native routes and MLflow's proxy. */
function fileHandlers(svc: Services) {
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
            const previous = await findArtifact(tx, project.id, artifactPath);
            await upsertArtifact(tx, {
              project_id: project.id,
              path: artifactPath,
              digest,
              size,
              content_type: contentType,
              created_at: clock.now(),
              created_by: req.identity!.username,
            });
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
      await deleteArtifactRow(tx, project.id, artifactPath);
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

  return { putFile, getFile, deleteFile } satisfies FileHandlers;
}

/**
 * Registers `routes` in a scope where upload bodies are streamed to the store as they arrive,
 * whatever their type: no parser buffers them (and the JSON body limit does not apply;
 * maxArtifactBytes does).
 */
async function withStreamedBodies(app: FalajApp, routes: (scope: FalajApp) => Promise<void>): Promise<void> {
  await app.register(async (scoped) => {
    const scope = scoped as unknown as FalajApp;
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    await routes(scope);
  });
}

/** Artifact files of a project: streamed upload and download, deletion. */
export async function artifactFileRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { putFile, getFile, deleteFile } = fileHandlers(svc);
  await withStreamedBodies(app, async (routes) => {
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
  });
}

/** The same files through MLflow's artifact proxy (`mlflow-artifacts:/<project>/...`). */
export async function mlflowArtifactProxyRoutes(app: FalajApp, svc: Services): Promise<void> {
  await withStreamedBodies(app, (routes) => mlflowArtifactProxy(routes, svc, fileHandlers(svc)));
}
