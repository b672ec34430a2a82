// Datasets of a project: create, list, show; the validation suite; column tags.
import { Type } from '@fastify/type-provider-typebox';
import { audited } from '../http/audited.js';
import type { FalajApp, Services } from '../http/services.js';
import {
  columnTags,
  createDataset,
  DATASET_NAME_PATTERN,
  datasetView,
  findDataset,
  latestVersion,
  listDatasets,
  parseStoredSuite,
  setColumnTags,
  setSuite,
} from './dataset-store.js';
import { DatasetParams, DatasetSchema, Json, ProjectParams, SuiteBody } from './route-schemas.js';
import { parseSuite } from './suite.js';

export async function datasetRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { store, clock } = svc;
  const base = '/api/v1/projects/:project/datasets';

  app.post(
    base,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['datasets'],
        summary: 'Create a dataset (versions are added by uploading files)',
        params: ProjectParams,
        body: Type.Object(
          {
            name: Type.String({ pattern: DATASET_NAME_PATTERN }),
            description: Type.Optional(Type.String({ maxLength: 4000 })),
            suite: Type.Optional(SuiteBody),
          },
          { additionalProperties: false },
        ),
        response: { 201: DatasetSchema },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const suite = req.body.suite ? parseSuite(req.body.suite) : null;
      const view = await audited(
        svc,
        req,
        async (tx) => {
          const row = await createDataset(tx, {
            projectId: project.id,
            name: req.body.name,
            description: req.body.description ?? '',
            suite,
            now: clock.now(),
            by: req.identity!.username,
          });
          return {
            result: datasetView(row),
            audit: {
              action: 'dataset.create',
              objectType: 'dataset',
              objectId: `${project.name}/${row.name}`,
              projectId: project.id,
            },
          };
        },
        201,
      );
      return reply.status(201).send(view);
    },
  );

  app.get(
    base,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'List datasets',
        params: ProjectParams,
        response: { 200: Type.Object({ datasets: Type.Array(DatasetSchema) }) },
      },
    },
    async (req) => {
      const rows = await listDatasets(store.db, req.project!.id);
      return { datasets: rows.map((r) => datasetView(r, r.latest === null ? null : Number(r.latest))) };
    },
  );

  app.get(
    `${base}/:dataset`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'Show a dataset with its column tags',
        params: DatasetParams,
        response: {
          200: Type.Intersect([
            DatasetSchema,
            Type.Object({
              columnTags: Type.Record(
                Type.String(),
                Type.Object({ tags: Type.Array(Type.String()), source: Type.String() }),
              ),
            }),
          ]),
        },
      },
    },
    async (req) => {
      const d = await findDataset(store.db, req.project!.id, req.params.dataset);
      const latest = await latestVersion(store.db, d.id);
      return {
        ...datasetView(d, latest ? Number(latest.version) : null),
        columnTags: Object.fromEntries(await columnTags(store.db, d.id)),
      };
    },
  );

  app.get(
    `${base}/:dataset/suite`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: ['datasets'],
        summary: 'The validation suite of a dataset',
        params: DatasetParams,
        response: { 200: Type.Object({ suite: Json }) },
      },
    },
    async (req) => ({
      suite: parseStoredSuite(await findDataset(store.db, req.project!.id, req.params.dataset)),
    }),
  );

  app.put(
    `${base}/:dataset/suite`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['datasets'],
        summary: 'Set (or with `suite: null` remove) the validation suite new versions must pass',
        params: DatasetParams,
        body: Type.Object({ suite: Type.Union([SuiteBody, Type.Null()]) }, { additionalProperties: false }),
        response: { 200: Type.Object({ suite: Json }) },
      },
    },
    async (req) => {
      const project = req.project!;
      const suite = req.body.suite ? parseSuite(req.body.suite) : null;
      return audited(svc, req, async (tx) => {
        const d = await findDataset(tx, project.id, req.params.dataset);
        await setSuite(tx, d.id, suite);
        return {
          result: { suite },
          audit: {
            action: suite ? 'dataset.suite.set' : 'dataset.suite.remove',
            objectType: 'dataset',
            objectId: `${project.name}/${d.name}`,
            projectId: project.id,
            details: { expectations: suite?.expectations.length ?? 0 },
          },
        };
      });
    },
  );

  app.put(
    `${base}/:dataset/columns/:column/tags`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: ['datasets'],
        summary:
          "Set a column's tags (PII kinds: email, phone, national_id, name; any other tag is free-form); they carry to later versions",
        params: Type.Intersect([
          DatasetParams,
          Type.Object({ column: Type.String({ minLength: 1, maxLength: 1000 }) }),
        ]),
        body: Type.Object(
          {
            tags: Type.Array(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }), {
              maxItems: 50,
              uniqueItems: true,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ column: Type.String(), tags: Type.Array(Type.String()) }) },
      },
    },
    async (req) => {
      const project = req.project!;
      const { column } = req.params;
      const tags = req.body.tags;
      return audited(svc, req, async (tx) => {
        const d = await findDataset(tx, project.id, req.params.dataset);
        const previous = await setColumnTags(tx, d.id, column, tags, {
          now: clock.now(),
          by: req.identity!.username,
        });
        return {
          result: { column, tags },
          audit: {
            action: 'dataset.column.tags',
            objectType: 'dataset',
            objectId: `${project.name}/${d.name}`,
            projectId: project.id,
            details: { column, tags, previous },
          },
        };
      });
    },
  );
}
