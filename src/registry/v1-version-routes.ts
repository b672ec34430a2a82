// Falaj's own registry API, versions side: list, show, and register a version from a run's
// model folder (JSON {run_id, path}) or from an ONNX file (the raw request body,
// application/octet-stream), its inputs and outputs read from the graph. The model is created
// when it does not exist yet, in the same transaction.
import { Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { storeArtifact } from '../artifacts/record-artifact.js';
import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { audited } from '../http/audited.js';
import { actorOf } from '../http/identity.js';
import type { FalajApp } from '../http/services.js';
import { PROJECT_NAME_PATTERN } from '../projects/projects.js';
import type { Executor } from '../store/executor.js';
import { validateKey } from '../tracking/validation.js';
import { createModel, findModel, getModel, type KeyValue, validateModelName } from './model-store.js';
import { onnxSignature } from './onnx-signature.js';
import { type RegistryContext, registerVersion } from './registry-service.js';
import { MAX_ONNX_BYTES, type ResolvedSource, resolveSource } from './source.js';
import { MODELS_BASE } from './v1-model-routes.js';
import { versionView, versionViews } from './v1-views.js';
import { getVersion, listVersions, parseVersionNumber } from './version-store.js';

const TAGS = ['registry'];
const Json = Type.Unknown();
const Project = Type.String({ pattern: PROJECT_NAME_PATTERN });
const ModelParams = Type.Object({ project: Project, name: Type.String({ minLength: 1, maxLength: 256 }) });
const VersionParams = Type.Object({
  project: Project,
  name: Type.String({ minLength: 1, maxLength: 256 }),
  version: Type.String({ pattern: '^\\d{1,15}$' }),
});
const Tags = Type.Record(Type.String({ minLength: 1, maxLength: 250 }), Type.String({ maxLength: 100_000 }));
const FromRun = Type.Object(
  {
    run_id: Type.String({ minLength: 1, maxLength: 64 }),
    path: Type.Optional(Type.String({ maxLength: 1000 })),
    description: Type.Optional(Type.String({ maxLength: 100_000 })),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);
const UploadQuery = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    fileName: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);

export async function v1VersionRoutes(app: FalajApp, ctx: RegistryContext): Promise<void> {
  const { svc } = ctx;
  const db = () => svc.store.db;
  const project = (req: FastifyRequest) => req.project!;

  app.get(
    `${MODELS_BASE}/:name/versions`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'The versions of a model, newest first',
        params: ModelParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const m = await getModel(db(), project(req).id, req.params.name);
      return { versions: await versionViews(db(), await listVersions(db(), m.id)) };
    },
  );

  app.get(
    `${MODELS_BASE}/:name/versions/:version`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'A model version: source, files, format, signature, tags and aliases',
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const m = await getModel(db(), project(req).id, req.params.name);
      return versionView(db(), await getVersion(db(), m, parseVersionNumber(req.params.version)));
    },
  );

  /** The model of that name, created (by this request, in its transaction) when missing. */
  const modelFor = async (tx: Executor, req: FastifyRequest, name: string) => {
    const existing = await findModel(tx, project(req).id, name);
    if (existing) return { model: existing, created: false };
    try {
      const model = await createModel(tx, {
        projectId: project(req).id,
        name,
        userId: req.identity!.username,
        now: svc.clock.now(),
      });
      return { model, created: true };
    } catch (err) {
      // A concurrent registration created it first (and has committed: the insert waited for it).
      const raced =
        err instanceof FalajError && err.code === 'FALAJ_MODEL_EXISTS'
          ? await findModel(tx, project(req).id, name)
          : undefined;
      if (!raced) throw err;
      return { model: raced, created: false };
    }
  };

  const register = async (
    req: FastifyRequest,
    modelName: string,
    resolved: ResolvedSource,
    extra: { description?: string; tags?: KeyValue[]; file?: Buffer },
  ) => {
    const name = validateModelName(modelName);
    return audited(
      svc,
      req,
      async (tx) => {
        const { model, created } = await modelFor(tx, req, name);
        let source = resolved;
        if (extra.file) {
          // The uploaded graph gets a folder of its own in the project's store.
          const folder = `registry/${model.id}/${newId()}`;
          await storeArtifact(
            svc,
            {
              projectId: project(req).id,
              path: `${folder}/model.onnx`,
              source: Readable.from([extra.file]),
              contentType: 'application/octet-stream',
              createdBy: actorOf(req.identity),
            },
            tx,
          );
          source = {
            ...resolved,
            source: `mlflow-artifacts:/${project(req).name}/${folder}`,
            artifactPath: folder,
          };
        }
        const v = await registerVersion(ctx, tx, {
          project: project(req),
          model,
          resolved: source,
          userId: req.identity!.username,
          now: svc.clock.now(),
          ...(extra.description !== undefined ? { description: extra.description } : {}),
          ...(extra.tags ? { tags: extra.tags } : {}),
        });
        return {
          result: { ...(await versionView(tx, v)), created_model: created },
          audit: {
            action: 'model_version.create',
            objectType: 'model_version',
            objectId: `${name}/${v.version}`,
            projectId: project(req).id,
            details: { source: v.source, run_id: v.run_id, format: v.format, created_model: created },
          },
        };
      },
      201,
    );
  };

  await app.register(async (scoped) => {
    const routes = scoped as unknown as FalajApp;
    // An ONNX graph is the raw body; it is parsed whole (protobuf), so it is buffered, up to the limit.
    routes.addContentTypeParser(
      'application/octet-stream',
      { parseAs: 'buffer', bodyLimit: Math.min(svc.config.maxArtifactBytes, MAX_ONNX_BYTES) },
      (_req, body, done) => done(null, body),
    );
    routes.post(
      `${MODELS_BASE}/:name/versions`,
      {
        config: { permission: 'project:editor' },
        schema: {
          tags: TAGS,
          summary:
            "Register a version: JSON {run_id, path='model'} (a run's model folder; its model.onnx gives the signature), or an ONNX file as the raw body (application/octet-stream). Creates the model if needed",
          params: ModelParams,
          querystring: UploadQuery,
          body: {
            content: {
              'application/json': { schema: FromRun },
              'application/octet-stream': { schema: Type.Any() },
            },
          },
          response: { 201: Json },
        },
      },
      async (req, reply) => {
        const modelName = (req.params as { name: string }).name;
        let out: unknown;
        if (Buffer.isBuffer(req.body)) {
          const file = req.body;
          // Parsed before anything is stored: a file that is not ONNX leaves no trace.
          const signature = onnxSignature(file);
          const resolved: ResolvedSource = {
            source: '',
            runId: null,
            artifactPath: '',
            format: 'onnx',
            signature,
          };
          out = await register(req, modelName, resolved, {
            file,
            ...(req.query.description !== undefined ? { description: req.query.description } : {}),
          });
        } else {
          const body = req.body as {
            run_id: string;
            path?: string;
            description?: string;
            tags?: Record<string, string>;
          };
          const path = (body.path ?? 'model').replace(/^\/+|\/+$/g, '');
          const source = path === '' ? `runs:/${body.run_id}` : `runs:/${body.run_id}/${path}`;
          const resolved = await resolveSource(svc, project(req), source, body.run_id, {
            requireFiles: true,
          });
          out = await register(req, modelName, resolved, {
            ...(body.description !== undefined ? { description: body.description } : {}),
            ...(body.tags
              ? {
                  tags: Object.entries(body.tags).map(([key, value]) => ({
                    key: validateKey('tag', key),
                    value,
                  })),
                }
              : {}),
          });
        }
        return reply.status(201).send(out);
      },
    );
  });
}
