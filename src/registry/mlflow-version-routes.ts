import type { FastifyRequest } from 'fastify';
import { audited } from '../http/audited.js';
import { actorOf } from '../http/identity.js';
import type { FalajApp } from '../http/services.js';
import { loose } from '../tracking/tracking-context.js';
import { invalid, validateString } from '../tracking/validation.js';
import {
  boolOf,
  fieldsOf,
  listOf,
  nameOf,
  one,
  optionalString,
  requiredString,
  TAG_VALUE_MAX,
  tagKeyOf,
  tagsOf,
  versionOf,
} from './mlflow-scope.js';
import { wireVersion, wireVersions } from './mlflow-wire.js';
import { getModel, touchModel } from './model-store.js';
import {
  checkVersionDeletable,
  type RegistryContext,
  registerVersion,
  transitionStage,
} from './registry-service.js';
import { parseSearchMaxResults, searchVersionIds } from './search.js';
import { resolveSource } from './source.js';
import {
  canonicalStage,
  deleteVersion,
  deleteVersionTag,
  getVersion,
  setVersionTag,
  updateVersionDescription,
  versionsByIds,
} from './version-store.js';

const P = '/api/2.0/mlflow/model-versions';
const TAGS = ['mlflow-registry'];
const NAME_VERSION = { name: 'model name', version: 'version number (a string)' };

/**
 * MLflow's model-versions endpoints. Reads: viewer; register, describe, tag and move through
 * stages: editor; delete: maintainer. A version is READY when created (no asynchronous
 * registration); transition-stage is mapped onto aliases (docs/registry.md).
 */
export function mlflowVersionRoutes(app: FalajApp, ctx: RegistryContext): void {
  const { svc } = ctx;
  const project = (req: FastifyRequest) => req.project!;
  const audit = (
    req: FastifyRequest,
    action: string,
    name: string,
    version: number,
    details?: Record<string, unknown>,
  ) => ({
    action,
    objectType: 'model_version',
    objectId: `${name}/${version}`,
    projectId: project(req).id,
    ...(details ? { details } : {}),
  });

  app.post(
    `${P}/create`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: register a new version of a model (READY at once)',
        body: loose({
          name: 'model name',
          source: 'runs:/<run_id>/<path> or an artifact URI (mlflow-artifacts:/<project>/<path>)',
          run_id: 'the run that produced it (same project)',
          tags: '[{key, value}]',
          run_link: 'optional',
          description: 'optional',
        }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const source = requiredString(f, 'source', 2000);
      const runIdRaw = one(f, 'run_id');
      const runId =
        runIdRaw === undefined || runIdRaw === null || runIdRaw === ''
          ? null
          : validateString('run_id', runIdRaw, 256);
      const tags = tagsOf(f);
      const description = optionalString(f, 'description');
      const runLink = optionalString(f, 'run_link', 2000);
      // The model first, so that an unknown name is RESOURCE_DOES_NOT_EXIST whatever the source.
      await getModel(svc.store.db, project(req).id, name);
      const resolved = await resolveSource(svc, project(req), source, runId);
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const v = await registerVersion(ctx, tx, {
          project: project(req),
          model,
          resolved,
          tags,
          userId: req.identity!.username,
          now: svc.clock.now(),
          ...(description !== undefined ? { description } : {}),
          ...(runLink !== undefined ? { runLink } : {}),
        });
        return {
          result: { model_version: await wireVersion(tx, v) },
          audit: audit(req, 'model_version.create', name, v.version, { source, run_id: resolved.runId }),
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
        summary: "MLflow: update a model version's description",
        body: loose({ ...NAME_VERSION, description: 'new description' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const number = versionOf(f);
      const description = optionalString(f, 'description');
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const v = await getVersion(tx, model, number);
        if (description !== undefined) {
          const now = svc.clock.now();
          await updateVersionDescription(tx, v.id, description, now);
          await touchModel(tx, model.id, now);
        }
        return {
          result: { model_version: await wireVersion(tx, await getVersion(tx, model, number)) },
          audit: audit(req, 'model_version.update', name, number),
        };
      });
    },
  );

  app.post(
    `${P}/transition-stage`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'MLflow (deprecated): move a version to a stage, mapped onto aliases: Staging → alias staging, Production → alias production (protected: 403), Archived/None → its stage aliases removed',
        body: loose({
          ...NAME_VERSION,
          stage: 'None, Staging, Production or Archived',
          archive_existing_versions: 'bool',
        }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const number = versionOf(f);
      const rawStage = requiredString(f, 'stage', 100);
      const stage = canonicalStage(rawStage);
      if (!stage)
        throw invalid(
          `Invalid Model Version stage: ${rawStage}. Value must be one of None, Staging, Production, Archived.`,
        );
      const archiveExisting = boolOf(f, 'archive_existing_versions');
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const v = await getVersion(tx, model, number);
        await transitionStage(ctx, tx, {
          projectId: project(req).id,
          model,
          version: v,
          stage,
          archiveExisting,
          actor: actorOf(req.identity),
          now: svc.clock.now(),
        });
        return {
          result: { model_version: await wireVersion(tx, await getVersion(tx, model, number)) },
          audit: audit(req, 'model_version.transition_stage', name, number, {
            from: v.stage,
            to: stage,
            archive_existing_versions: archiveExisting,
          }),
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
        summary: 'MLflow: delete a model version (refused while a protected alias points at it)',
        querystring: loose(NAME_VERSION),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const number = versionOf(f);
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const v = await getVersion(tx, model, number);
        await checkVersionDeletable(tx, model, v);
        await deleteVersion(tx, v.id);
        await touchModel(tx, model.id, svc.clock.now());
        return { result: {}, audit: audit(req, 'model_version.delete', name, number) };
      });
    },
  );

  app.get(
    `${P}/get`,
    {
      config: { permission: 'project:viewer' },
      schema: { tags: TAGS, summary: 'MLflow: get a model version', querystring: loose(NAME_VERSION) },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const number = versionOf(f);
      const db = svc.store.db;
      const model = await getModel(db, project(req).id, name);
      return { model_version: await wireVersion(db, await getVersion(db, model, number)) };
    },
  );

  app.get(
    `${P}/search`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary:
          'MLflow: search model versions (filter on name, version_number, run_id incl. IN, source_path, tags.<key>; AND only)',
        querystring: loose({
          filter: "e.g. name = 'fraud' AND run_id IN ('a', 'b')",
          max_results: 'default and at most 200,000',
          order_by: 'name, version_number, creation_timestamp, last_updated_timestamp [ASC|DESC]',
          page_token: 'from the previous page',
        }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const db = svc.store.db;
      const { ids, nextPageToken } = await searchVersionIds(db, svc.store.dialect, {
        projectId: project(req).id,
        filter: optionalString(f, 'filter'),
        orderBy: listOf(f, 'order_by'),
        maxResults: parseSearchMaxResults('versions', one(f, 'max_results')),
        pageToken: optionalString(f, 'page_token', 1000),
      });
      const versions = await wireVersions(db, await versionsByIds(db, ids));
      return {
        ...(versions.length > 0 ? { model_versions: versions } : {}),
        ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
      };
    },
  );

  app.get(
    `${P}/get-download-uri`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary:
          "MLflow: where a version's files are: mlflow-artifacts:/<project>/<path> (through the artifact proxy), or the external source",
        querystring: loose(NAME_VERSION),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const number = versionOf(f);
      const db = svc.store.db;
      const model = await getModel(db, project(req).id, name);
      const v = await getVersion(db, model, number);
      return {
        artifact_uri:
          v.artifact_path === '' ? v.source : `mlflow-artifacts:/${project(req).name}/${v.artifact_path}`,
      };
    },
  );

  app.post(
    `${P}/set-tag`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: set a tag on a model version',
        body: loose({ ...NAME_VERSION, key: 'tag key', value: 'tag value' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const number = versionOf(f);
      const key = tagKeyOf(f);
      const value = requiredString(f, 'value', TAG_VALUE_MAX);
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const v = await getVersion(tx, model, number);
        await setVersionTag(tx, v.id, key, value);
        return { result: {}, audit: audit(req, 'model_version.tag.set', name, number, { key }) };
      });
    },
  );

  app.delete(
    `${P}/delete-tag`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary: 'MLflow: delete a tag of a model version (no error when it has none)',
        querystring: loose({ ...NAME_VERSION, key: 'tag key' }),
      },
    },
    async (req) => {
      const f = fieldsOf(req);
      const name = nameOf(f);
      const number = versionOf(f);
      const key = tagKeyOf(f);
      return audited(svc, req, async (tx) => {
        const model = await getModel(tx, project(req).id, name);
        const v = await getVersion(tx, model, number);
        await deleteVersionTag(tx, v.id, key);
        return { result: {}, audit: audit(req, 'model_version.tag.delete', name, number, { key }) };
      });
    },
  );
}
