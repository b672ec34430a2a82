import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import { actorOf } from '../http/identity.js';
import type { FalajApp } from '../http/services.js';
import { loose } from '../tracking/tracking-context.js';
import { aliasNotFound, getAlias, validateAlias } from './alias-store.js';
import { fieldsOf, nameOf, one, versionOf } from './mlflow-scope.js';
import { wireVersion } from './mlflow-wire.js';
import { getModel } from './model-store.js';
import { type RegistryContext, removeAlias, setUnprotectedAlias } from './registry-service.js';
import { getVersion, getVersionById } from './version-store.js';

const P = '/api/2.0/mlflow/registered-models/alias';
const TAGS = ['mlflow-registry'];

/**
 * MLflow's alias endpoints. Setting and deleting an alias: editor, except a protected alias
 * (`production` by default), which answers 403 PERMISSION_DENIED naming the promotion command:
 * it moves only through a promotion request and a second person's approval.
 */
export function mlflowAliasRoutes(app: FalajApp, ctx: RegistryContext): void {
  const { svc } = ctx;
  const project = (req: FastifyRequest) => req.project!;

  app.post(
    P,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: point an alias of a registered model at a version (protected aliases: 403)',
        body: loose({ name: 'model name', alias: 'alias name', version: 'version number' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const alias = validateAlias(one(f, 'alias'));
      const number = versionOf(f);
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const version = await getVersion(tx, model, number);
        const { previous } = await setUnprotectedAlias(ctx, tx, {
          projectId: project(req).id,
          model,
          alias,
          version,
          actor: actorOf(req.identity),
          now: svc.clock.now(),
        });
        return {
          result: {},
          audit: {
            action: 'model.alias.set',
            objectType: 'registered_model',
            objectId: name,
            projectId: project(req).id,
            details: {
              alias,
              version: String(number),
              previous: previous === null ? null : String(previous),
            },
          },
        };
      });
    },
  );

  app.delete(
    P,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: delete an alias of a registered model (protected aliases: 403)',
        querystring: loose({ name: 'model name', alias: 'alias name' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const alias = validateAlias(one(f, 'alias'));
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const { removed } = await removeAlias(ctx, tx, {
          projectId: project(req).id,
          model,
          alias,
          actor: actorOf(req.identity),
          now: svc.clock.now(),
        });
        return {
          result: {},
          audit: {
            action: 'model.alias.delete',
            objectType: 'registered_model',
            objectId: name,
            projectId: project(req).id,
            details: { alias, version: removed === null ? null : String(removed) },
          },
        };
      });
    },
  );

  app.get(
    P,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: the model version an alias points at',
        querystring: loose({ name: 'model name', alias: 'alias name' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const alias = validateAlias(one(f, 'alias'));
      const db = svc.store.db;
      const model = await getModel(db, project(req).id, name);
      const a = await getAlias(db, model.id, alias);
      const v = a ? await getVersionById(db, a.versionId) : undefined;
      if (!v) throw aliasNotFound(alias, name);
      return { model_version: await wireVersion(db, v) };
    },
  );
}
