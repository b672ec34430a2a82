// Versions of a dataset: upload (the raw body), list, show, profile, download; validate,
// suggest a suite, override a failure, drift against another version.
import type { Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import { computeDriftDuckDB, computeFairnessDuckDB, type DriftMethod } from '../statistics/index.js';
import {
  columnTags,
  findDataset,
  findVersion,
  parseProfile,
  parseStoredSuite,
  versionView,
} from './dataset-store.js';
import { formatOf } from './ingest.js';
import { DatasetParams, Json, SuiteBody, VersionParams } from './route-schemas.js';
import { suggestSuite } from './suggest.js';
import { parseSuite } from './suite.js';
import { receiveBody } from './upload.js';
import { runSuite } from './validate.js';
import { createVersion, referenceResolver, withVersionFile, workspaceFor } from './version-service.js';

const base = '/api/v1/projects/:project/datasets/:dataset/versions';

export async function versionRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store } = svc;

  const load = async (project: string, dataset: string, version: string) => {
    const d = await findDataset(store.db, project, dataset);
    return { d, v: await findVersion(store.db, d, version) };
  };

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
      const rows = await store.db
        .selectFrom('data_versions')
        .selectAll()
        .where('dataset_id', '=', d.id)
        .orderBy('version', 'desc')
        .execute();
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
      const { d, v } = await load(req.project!.id, req.params.dataset, req.params.version);
      const last = await store.db
        .selectFrom('data_validations')
        .select('result')
        .where('version_id', '=', v.id)
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return {
        ...versionView(d, v, await columnTags(store.db, d.id)),
        validation: last ? JSON.parse(last.result) : null,
      };
    },
  );

  app.get(
    `${base}/:version/profile`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'The profile computed when the version was created',
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => parseProfile((await load(req.project!.id, req.params.dataset, req.params.version)).v),
  );

  app.get(
    `${base}/:version/suggested-suite`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'A validation suite proposed from the version profile, to edit and set',
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const { d, v } = await load(req.project!.id, req.params.dataset, req.params.version);
      return suggestSuite(parseProfile(v), `${d.name}-suggested`);
    },
  );

  app.get(
    `${base}/:version/data`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'Download the version as Parquet (x-falaj-digest: SHA-256 of the bytes)',
        params: VersionParams,
      },
    },
    async (req, reply) => {
      const { d, v } = await load(req.project!.id, req.params.dataset, req.params.version);
      const body = await svc.artifacts.get(v.digest);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(v.size))
        .header('x-falaj-digest', v.digest)
        .header(
          'content-disposition',
          `attachment; filename="${encodeURIComponent(d.name)}-v${v.version}.parquet"`,
        )
        .send(body);
    },
  );

  app.post(
    `${base}/:version/validate`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['datasets'],
        summary:
          "Validate a version: with `suite` in the body, that suite (nothing recorded); without, the dataset's suite (recorded; sets the version's status)",
        params: VersionParams,
        body: Type.Optional(
          Type.Object({ suite: Type.Optional(SuiteBody) }, { additionalProperties: false }),
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      const { d, v } = await load(project.id, req.params.dataset, req.params.version);
      const adHoc = req.body?.suite ? parseSuite(req.body.suite) : null;
      const suite = adHoc ?? parseStoredSuite(d);
      if (!suite)
        throw new FalajError(
          'FALAJ_INVALID_ARGUMENT',
          `dataset '${d.name}' has no suite: send one in the body or set one`,
          { dataset: d.name },
        );
      const result = await withVersionFile(svc, v.digest, (ws, parquet) =>
        runSuite(ws, parquet, JSON.parse(v.schema), suite, {
          reference: referenceResolver(svc, store.db, project.id, ws),
        }),
      );
      if (adHoc) return result;
      return audited(svc, req, async (tx) => {
        const status = result.success ? 'passed' : 'failed';
        await tx.updateTable('data_versions').set({ status }).where('id', '=', v.id).execute();
        await tx
          .insertInto('data_validations')
          .values({
            id: newId(),
            version_id: v.id,
            suite: JSON.stringify(suite),
            result: JSON.stringify(result),
            success: result.success ? 1 : 0,
            created_at: svc.clock.now(),
            created_by: req.identity!.username,
          })
          .execute();
        return {
          result,
          audit: {
            action: 'dataset.version.validate',
            objectType: 'dataset_version',
            objectId: `${project.name}/${d.name}@${v.version}`,
            projectId: project.id,
            details: { status, previousStatus: v.status, ...result.statistics },
          },
        };
      });
    },
  );

  app.post(
    `${base}/:version/override`,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: ['datasets'],
        summary: 'Let a version that failed validation feed training anyway (admins; the reason is audited)',
        params: VersionParams,
        body: Type.Object(
          { reason: Type.String({ minLength: 3, maxLength: 2000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      return audited(svc, req, async (tx) => {
        const d = await findDataset(tx, project.id, req.params.dataset);
        const v = await findVersion(tx, d, req.params.version);
        if (v.status !== 'failed')
          throw new FalajError(
            'FALAJ_CONFLICT',
            `${d.name}@${v.version} has not failed validation (status ${v.status}): nothing to override`,
            { status: v.status },
          );
        const override = {
          by: req.identity!.username,
          at: new Date(svc.clock.now()).toISOString(),
          reason: req.body.reason,
        };
        await tx
          .updateTable('data_versions')
          .set({ override: JSON.stringify(override) })
          .where('id', '=', v.id)
          .execute();
        return {
          result: versionView(d, { ...v, override: JSON.stringify(override) }, await columnTags(tx, d.id)),
          audit: {
            action: 'dataset.version.override',
            objectType: 'dataset_version',
            objectId: `${project.name}/${d.name}@${v.version}`,
            projectId: project.id,
            details: { reason: req.body.reason },
          },
        };
      });
    },
  );

  app.post(
    `${base}/:version/drift`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary:
          'Drift of this version against a reference version ("dataset@N"), per column and for the dataset',
        params: VersionParams,
        body: Type.Object(
          {
            reference: Type.String({ pattern: '^[^@\\s]+@(\\d+|latest)$' }),
            columns: Type.Optional(Type.Array(Type.String(), { maxItems: 1000 })),
            method: Type.Optional(Type.String()),
            threshold: Type.Optional(Type.Number()),
            driftShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      const { v } = await load(project.id, req.params.dataset, req.params.version);
      return withVersionFile(svc, v.digest, async (ws, current) => {
        const reference = await referenceResolver(svc, store.db, project.id, ws)(req.body.reference);
        const { columns, method, threshold, driftShare } = req.body;
        return computeDriftDuckDB(
          ws.conn,
          { parquet: reference },
          { parquet: current },
          {
            ...(columns ? { columns } : {}),
            ...(method ? { method: method as DriftMethod } : {}),
            ...(threshold !== undefined ? { threshold } : {}),
            ...(driftShare !== undefined ? { driftShare } : {}),
          },
        );
      });
    },
  );

  app.post(
    `${base}/:version/fairness`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary:
          'Fairness of the predictions in this version: per-group rates and Fairlearn/AIF360 disparities',
        params: VersionParams,
        body: Type.Object(
          {
            prediction: Type.String({ minLength: 1 }),
            label: Type.String({ minLength: 1 }),
            sensitive: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 10 }),
            positiveLabel: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
            negativeLabel: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
            minGroupSize: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      const { v } = await load(project.id, req.params.dataset, req.params.version);
      const { prediction, label, sensitive, positiveLabel, negativeLabel, minGroupSize } = req.body;
      return withVersionFile(svc, v.digest, (ws, file) =>
        computeFairnessDuckDB(
          ws.conn,
          { parquet: file },
          { prediction, label, sensitive },
          {
            ...(positiveLabel !== undefined ? { positiveLabel: positiveLabel as never } : {}),
            ...(negativeLabel !== undefined ? { negativeLabel: negativeLabel as never } : {}),
            ...(minGroupSize !== undefined ? { minGroupSize } : {}),
          },
        ),
      );
    },
  );
}
