import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import type { FalajApp } from '../http/services.js';
import { loose } from '../tracking/tracking-context.js';
import { invalid } from '../tracking/validation.js';
import {
  fieldsOf,
  listOf,
  nameOf,
  one,
  optionalString,
  requiredString,
  TAG_VALUE_MAX,
  tagKeyOf,
  tagsOf,
} from './mlflow-scope.js';
import { wireModel, wireModels, wireVersions } from './mlflow-wire.js';
import {
  createModel,
  deleteModel,
  deleteModelTag,
  getModel,
  modelsByIds,
  renameModel,
  setModelTag,
  touchModel,
  updateModelDescription,
} from './model-store.js';
import type { RegistryContext } from './registry-service.js';
import { parseSearchMaxResults, searchModelIds } from './search.js';
import { canonicalStage, latestVersionsPerStage, type Stage } from './version-store.js';

const P = '/api/2.0/mlflow/registered-models';
const TAGS = ['mlflow-registry'];

/**
 * MLflow's registered-models endpoints (aliases are in mlflow-alias-routes.ts). Reads: viewer;
 * create, describe and tag: editor; rename and delete: maintainer (both change what
 * `models:/NAME/...` URIs resolve to). The creator gets no rights of its own on the model.
 */
export function mlflowModelRoutes(app: FalajApp, ctx: RegistryContext): void {
  const { svc } = ctx;
  const project = (req: FastifyRequest) => req.project!;
  const user = (req: FastifyRequest) => req.identity!.username;
  const audit = (req: FastifyRequest, action: string, name: string, details?: Record<string, unknown>) => ({
    action,
    objectType: 'registered_model',
    objectId: name,
    projectId: project(req).id,
    ...(details ? { details } : {}),
  });

  app.post(
    `${P}/create`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: create a registered model',
        body: loose({ name: 'unique within the project', tags: '[{key, value}]', description: 'optional' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const tags = tagsOf(f);
      const description = optionalString(f, 'description');
      return audited(svc, req, async (tx) => {
        const m = await createModel(tx, {
          projectId: project(req).id,
          name,
          userId: user(req),
          tags,
          ...(description !== undefined ? { description } : {}),
          now: svc.clock.now(),
        });
        return {
          result: { registered_model: await wireModel(tx, m) },
          audit: audit(req, 'model.create', name),
        };
      });
    },
  );

  app.post(
    `${P}/rename`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: rename a registered model',
        body: loose({ name: 'current name', new_name: 'new name' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const newName = nameOf(f, 'new_name');
      return audited(svc, req, async (tx) => {
        const m = await renameModel(tx, project(req).id, name, newName, svc.clock.now());
        return {
          result: { registered_model: await wireModel(tx, m) },
          audit: audit(req, 'model.rename', newName, { from: name, to: newName }),
        };
      });
    },
  );

  app.patch(
    `${P}/update`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: "MLflow: update a registered model's description",
        body: loose({ name: 'model name', description: 'new description' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const description = optionalString(f, 'description');
      return audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, name);
        const now = svc.clock.now();
        if (description !== undefined) await updateModelDescription(tx, m.id, description, now);
        const updated = await getModel(tx, project(req).id, name);
        return {
          result: { registered_model: await wireModel(tx, updated) },
          audit: audit(req, 'model.update', name),
        };
      });
    },
  );

  app.delete(
    `${P}/delete`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: delete a registered model with its versions, tags and aliases',
        querystring: loose({ name: 'model name' }),
      },
    },
    async (req) => {
      const name = nameOf(fieldsOf(req));
      return audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, name);
        await deleteModel(tx, m.id);
        return { result: {}, audit: audit(req, 'model.delete', name) };
      });
    },
  );

  app.get(
    `${P}/get`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: get a registered model',
        querystring: loose({ name: 'model name' }),
      },
    },
    async (req) => {
      const name = nameOf(fieldsOf(req));
      const db = svc.store.db;
      return { registered_model: await wireModel(db, await getModel(db, project(req).id, name)) };
    },
  );

  app.get(
    `${P}/search`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: search registered models (filter on name and tags.<key>, AND only)',
        querystring: loose({
          filter: "e.g. name LIKE 'fraud%' AND tags.team = 'risk'",
          max_results: 'default 100, at most 1000',
          order_by: 'name, creation_timestamp, last_updated_timestamp [ASC|DESC]',
          page_token: 'from the previous page',
        }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const db = svc.store.db;
      const filter = optionalString(f, 'filter');
      const pageToken = optionalString(f, 'page_token', 1000);
      const { ids, nextPageToken } = await searchModelIds(db, svc.store.dialect, {
        projectId: project(req).id,
        filter,
        orderBy: listOf(f, 'order_by'),
        maxResults: parseSearchMaxResults('models', one(f, 'max_results')),
        pageToken,
      });
      const models = await wireModels(db, await modelsByIds(db, ids));
      return {
        ...(models.length > 0 ? { registered_models: models } : {}),
        ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
      };
    },
  );

  // MLflow serves get-latest-versions on GET and POST (the Python client POSTs it).
  for (const method of ['get', 'post'] as const) {
    app[method](
      `${P}/get-latest-versions`,
      {
        config: { permission: 'project:viewer' },
        schema: {
          tags: TAGS,
          summary: 'MLflow: the latest version of a registered model in each stage (or in the stages given)',
          ...(method === 'get'
            ? { querystring: loose({ name: 'model name', stages: 'stages to include' }) }
            : { body: loose({ name: 'model name', stages: 'stages to include' }) }),
        },
      },
      async (req) => {
        const f = fieldsOf(req);
        const name = nameOf(f);
        const raw = f.stages === undefined || f.stages === null ? [] : [f.stages].flat();
        const stages: Stage[] = raw.map((s) => {
          const stage = typeof s === 'string' ? canonicalStage(s) : undefined;
          if (!stage)
            throw invalid(
              `Invalid Model Version stage: ${String(s)}. Value must be one of None, Staging, Production, Archived.`,
            );
          return stage;
        });
        const db = svc.store.db;
        const m = await getModel(db, project(req).id, name);
        const rows = (await latestVersionsPerStage(db, [m.id], stages)).get(m.id) ?? [];
        const versions = await wireVersions(db, rows);
        return versions.length > 0 ? { model_versions: versions } : {};
      },
    );
  }

  app.post(
    `${P}/set-tag`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: set a tag on a registered model',
        body: loose({ name: 'model name', key: 'tag key', value: 'tag value' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const key = tagKeyOf(f);
      const value = requiredString(f, 'value', TAG_VALUE_MAX);
      return audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, name);
        await setModelTag(tx, m.id, key, value);
        await touchModel(tx, m.id, svc.clock.now());
        return { result: {}, audit: audit(req, 'model.tag.set', name, { key }) };
      });
    },
  );

  app.delete(
    `${P}/delete-tag`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: delete a tag of a registered model (no error when it has none)',
        querystring: loose({ name: 'model name', key: 'tag key' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const key = tagKeyOf(f);
      return audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, name);
        if (await deleteModelTag(tx, m.id, key)) await touchModel(tx, m.id, svc.clock.now());
        return { result: {}, audit: audit(req, 'model.tag.delete', name, { key }) };
      });
    },
  );
}
