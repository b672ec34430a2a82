// Analyses of a stored version: drift against another version, fairness of its predictions.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../http/services.js';
import { computeDriftDuckDB, computeFairnessDuckDB, type DriftMethod } from '../statistics/index.js';
import { findDatasetVersion } from './dataset-store.js';
import { Json, VERSIONS_BASE, VersionParams } from './route-schemas.js';
import { referenceResolver, withVersionFile } from './version-service.js';

export async function versionAnalysisRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store } = svc;
  const base = VERSIONS_BASE;
  const load = (project: string, dataset: string, version: string) =>
    findDatasetVersion(store.db, project, dataset, version);

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
