// Falaj's own registry API, models side: list, show, create, describe, delete, the protected
// aliases of a model, setting and removing aliases, and resolving a model URI. Versions are in
// v1-version-routes.ts.
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { FalajError } from '../core/errors.js';
import { audited } from '../http/audited.js';
import { actorOf } from '../http/identity.js';
import { roleAtLeast } from '../http/roles.js';
import type { FalajApp } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import { validateAlias } from './alias-store.js';
import {
  createModel,
  deleteModel,
  getModel,
  listModels,
  setProtectedAliases,
  updateModelDescription,
  validateModelName,
} from './model-store.js';
import { resolveModel } from './model-uri.js';
import { type RegistryContext, removeAlias, setUnprotectedAlias } from './registry-service.js';
import { modelDetail, modelViews, versionView } from './v1-views.js';
import { getVersion, parseVersionNumber } from './version-store.js';

export const MODELS_BASE = '/api/v1/projects/:project/models';
const TAGS = ['registry'];
const Json = Type.Unknown();
const Project = Type.String({ pattern: PROJECT_NAME_PATTERN });
const ProjectParams = Type.Object({ project: Project });
const ModelParams = Type.Object({ project: Project, name: Type.String({ minLength: 1, maxLength: 256 }) });
const AliasParams = Type.Object({
  project: Project,
  name: Type.String({ minLength: 1, maxLength: 256 }),
  alias: Type.String({ minLength: 1, maxLength: 255 }),
});
const AliasNames = Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 50 });

export async function v1ModelRoutes(app: FalajApp, ctx: RegistryContext): Promise<void> {
  const { svc } = ctx;
  const db = () => svc.store.db;
  const project = (req: FastifyRequest) => req.project!;
  const audit = (req: FastifyRequest, action: string, name: string, details?: Record<string, unknown>) => ({
    action,
    objectType: 'registered_model',
    objectId: name,
    projectId: project(req).id,
    ...(details ? { details } : {}),
  });

  app.get(
    MODELS_BASE,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'Registered models of the project, by name, with their aliases and latest version',
        params: ProjectParams,
        response: { 200: Json },
      },
    },
    async (req) => ({ models: await modelViews(db(), await listModels(db(), project(req).id)) }),
  );

  app.post(
    MODELS_BASE,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'Create a registered model (the creator gets no rights of its own on it)',
        params: ProjectParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 256 }),
            description: Type.Optional(Type.String({ maxLength: 100_000 })),
            tags: Type.Optional(
              Type.Record(Type.String({ maxLength: 250 }), Type.String({ maxLength: 100_000 })),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Json },
      },
    },
    async (req, reply) => {
      const name = validateModelName(req.body.name);
      const out = await audited(
        svc,
        req,
        async (tx) => {
          const m = await createModel(tx, {
            projectId: project(req).id,
            name,
            userId: req.identity!.username,
            tags: Object.entries(req.body.tags ?? {}).map(([key, value]) => ({ key, value })),
            ...(req.body.description !== undefined ? { description: req.body.description } : {}),
            now: svc.clock.now(),
          });
          return { result: (await modelViews(tx, [m]))[0]!, audit: audit(req, 'model.create', name) };
        },
        201,
      );
      return reply.status(201).send(out);
    },
  );

  app.get(
    `${MODELS_BASE}/resolve`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary:
          'The version a model URI names: models:/NAME@ALIAS, models:/NAME/N, models:/NAME/latest, models:/NAME/STAGE, NAME@ALIAS or NAME@N',
        params: ProjectParams,
        querystring: Type.Object(
          { uri: Type.String({ minLength: 1, maxLength: 600 }) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const { version } = await resolveModel(db(), project(req).id, req.query.uri);
      return { uri: req.query.uri, version: await versionView(db(), version) };
    },
  );

  app.get(
    `${MODELS_BASE}/:name`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'A registered model with all its versions (newest first), tags and aliases',
        params: ModelParams,
        response: { 200: Json },
      },
    },
    async (req) => modelDetail(db(), await getModel(db(), project(req).id, req.params.name)),
  );

  app.patch(
    `${MODELS_BASE}/:name`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: "Update a registered model's description",
        params: ModelParams,
        body: Type.Object(
          { description: Type.String({ maxLength: 100_000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) =>
      audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, req.params.name);
        await updateModelDescription(tx, m.id, req.body.description, svc.clock.now());
        return {
          result: (await modelViews(tx, [await getModel(tx, project(req).id, m.name)]))[0]!,
          audit: audit(req, 'model.update', m.name),
        };
      }),
  );

  app.delete(
    `${MODELS_BASE}/:name`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary: 'Delete a registered model with its versions, tags and aliases',
        params: ModelParams,
        response: { 200: Json },
      },
    },
    async (req) =>
      audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, req.params.name);
        await deleteModel(tx, m.id);
        return { result: { deleted: m.name }, audit: audit(req, 'model.delete', m.name) };
      }),
  );

  app.put(
    `${MODELS_BASE}/:name/protected-aliases`,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: TAGS,
        summary:
          'Which aliases of the model need a promotion request and an approval (default ["production"]); project admins only',
        params: ModelParams,
        body: Type.Object({ aliases: AliasNames }, { additionalProperties: false }),
        response: { 200: Json },
      },
    },
    async (req) => {
      const aliases = req.body.aliases.map((a) => validateAlias(a));
      return audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, req.params.name);
        await setProtectedAliases(tx, m.id, aliases, svc.clock.now());
        return {
          result: (await modelViews(tx, [await getModel(tx, project(req).id, m.name)]))[0]!,
          audit: audit(req, 'model.protected_aliases.set', m.name, { aliases }),
        };
      });
    },
  );

  app.put(
    `${MODELS_BASE}/:name/aliases/:alias`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'Point an alias at a version; a protected alias (production) is refused with FALAJ_ALIAS_PROTECTED: it moves through a promotion request',
        params: AliasParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        response: { 200: Json },
      },
    },
    async (req) => {
      const alias = validateAlias(req.params.alias);
      const number = parseVersionNumber(req.body.version);
      return audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, req.params.name);
        const v = await getVersion(tx, m, number);
        const { previous } = await setUnprotectedAlias(ctx, tx, {
          projectId: project(req).id,
          model: m,
          alias,
          version: v,
          actor: actorOf(req.identity),
          now: svc.clock.now(),
        });
        return {
          result: { name: m.name, alias, version: number, previous },
          audit: audit(req, 'model.alias.set', m.name, { alias, version: String(number), previous }),
        };
      });
    },
  );

  app.delete(
    `${MODELS_BASE}/:name/aliases/:alias`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'Remove an alias (FALAJ_ALIAS_NOT_FOUND if unset); a protected one only by a project admin, and that removal is audited',
        params: AliasParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const alias = validateAlias(req.params.alias);
      const admin = roleAtLeast(project(req).role, 'admin');
      return audited(svc, req, async (tx) => {
        const m = await getModel(tx, project(req).id, req.params.name);
        const { removed } = await removeAlias(ctx, tx, {
          projectId: project(req).id,
          model: m,
          alias,
          actor: actorOf(req.identity),
          now: svc.clock.now(),
          allowProtected: admin,
        });
        if (removed === null)
          throw new FalajError('FALAJ_ALIAS_NOT_FOUND', `Registered model alias ${alias} not found.`, {
            name: m.name,
            alias,
          });
        return {
          result: { name: m.name, alias, removed },
          audit: audit(req, 'model.alias.delete', m.name, { alias, version: String(removed) }),
        };
      });
    },
  );
}
