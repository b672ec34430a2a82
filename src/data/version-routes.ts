// Versions of a dataset: upload (the raw body), list, show. What is read from a version, its
// validation and its analyses are in version-content-routes.ts, version-validation-routes.ts
// and version-analysis-routes.ts.
import type { Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import type { FalajApp, Services } from '../http/services.js';
import {
  columnTags,
  findDataset,
  findDatasetVersion,
  findVersion,
  lastValidation,
  listVersions,
  versionView,
} from './dataset-store.js';
import { formatOf } from './ingest.js';
import { DatasetParams, Json, VERSIONS_BASE, VersionParams } from './route-schemas.js';
import { receiveBody } from './upload.js';
import { createVersion, workspaceFor } from './version-service.js';

export async function versionRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store } = svc;
  const base = VERSIONS_BASE;

  await app.register(async (scoped) => {
    const routes = scoped as unknown as FalajApp;
    // The file is the body, streamed to disk whatever its type; no parser buffers it.
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    routes.post(
      base,
      {
        config: { permission: 'project:editor' },
        schema: {
          tags: ['datasets'],
          summary:
            'Add a version: the request body is a CSV, TSV, Parquet or JSON-lines file (format from `fileName`); validated against the dataset suite, if any',
          params: DatasetParams,
          querystring: Type.Object(
            { fileName: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\\\u0000]+$' }) },
            { additionalProperties: false },
          ),
          response: { 201: Json },
        },
      },
      async (req, reply) => {
        const project = req.project!;
        const format = formatOf(req.query.fileName);
        const d = await findDataset(store.db, project.id, req.params.dataset);
        const ws = await workspaceFor(svc);
        try {
          const file = ws.file('upload');
          try {
            await receiveBody(req.body as Readable, file, svc.config.maxArtifactBytes);
          } catch (err) {
            void reply.header('connection', 'close');
            throw err instanceof FalajError
              ? err
              : new FalajError('FALAJ_INVALID_ARGUMENT', 'the upload was cut off before its end');
          }
          const { number, validation } = await createVersion(svc, req, project, d, ws, {
            file,
            fileName: req.query.fileName,
            format,
          });
          const v = await findVersion(store.db, d, String(number));
          return reply
            .status(201)
            .send({ ...versionView(d, v, await columnTags(store.db, d.id)), validation });
        } finally {
          await ws.close();
        }
      },
    );
  });

  app.get(
    base,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'List the versions of a dataset, newest first',
        params: DatasetParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const d = await findDataset(store.db, req.project!.id, req.params.dataset);
      const rows = await listVersions(store.db, d.id);
      const tags = await columnTags(store.db, d.id);
      return { versions: rows.map((r) => versionView(d, r, tags)) };
    },
  );

  app.get(
    `${base}/:version`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary:
          'A version: schema with tags, schema diff against its parent, source, status and its last validation',
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const { d, v } = await findDatasetVersion(
        store.db,
        req.project!.id,
        req.params.dataset,
        req.params.version,
      );
      const last = await lastValidation(store.db, v.id);
      return {
        ...versionView(d, v, await columnTags(store.db, d.id)),
        validation: last,
      };
    },
  );
}
