// A model's gate policy (set as YAML or JSON text, kept as revisions) and the gate runs of its
// versions.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../../http/services.js';
import { getModel } from '../model-store.js';
import { runGates, setPolicy } from './gate-service.js';
import {
  currentPolicy,
  gateRunView,
  listGateRuns,
  listPolicyRevisions,
  policyRevision,
  policyView,
} from './gate-store.js';
import { POLICY_SOURCE_MAX } from './gates/policy.js';
import { Json, locate, MODELS, ModelParams, TAGS, VersionParams } from './route-schemas.js';

export async function gateRoutes(app: FalajApp, svc: Services): Promise<void> {
  const db = () => svc.store.db;

  app.put(
    `${MODELS}/:name/gates/policy`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary:
          "Set the model's gate policy: `policy` as YAML or JSON text, or as an object; a new revision (refused whole when a check names a metric that does not exist)",
        params: ModelParams,
        body: Type.Object(
          {
            policy: Type.Union([
              Type.String({ maxLength: POLICY_SOURCE_MAX }),
              Type.Record(Type.String(), Type.Unknown()),
            ]),
          },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      const model = await getModel(db(), project.id, req.params.name);
      const { policy } = req.body;
      const source = typeof policy === 'string' ? policy : `${JSON.stringify(policy, null, 2)}\n`;
      return setPolicy(svc, req, project, model, source);
    },
  );

  app.get(
    `${MODELS}/:name/gates/policy`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: "The model's current gate policy (or `?revision=N`); `policy: null` when none is set",
        params: ModelParams,
        querystring: Type.Object(
          { revision: Type.Optional(Type.Integer({ minimum: 1 })) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const model = await getModel(db(), req.project!.id, req.params.name);
      if (req.query.revision !== undefined)
        return policyView(await policyRevision(db(), model.id, req.query.revision));
      const row = await currentPolicy(db(), model.id);
      return row ? policyView(row) : { revision: null, policy: null, source: null };
    },
  );

  app.get(
    `${MODELS}/:name/gates/policy/revisions`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'Every revision of the policy, newest first',
        params: ModelParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const model = await getModel(db(), req.project!.id, req.params.name);
      return { revisions: (await listPolicyRevisions(db(), model.id)).map(policyView) };
    },
  );

  app.post(
    `${MODELS}/:name/versions/:version/gates/runs`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'Run the gates on a version (the champion is the version holding `alias`, by default the first protected alias); 201: every check with its value, threshold and outcome',
        params: VersionParams,
        body: Type.Optional(
          Type.Object(
            { alias: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 201: Json },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const { model, version } = await locate(db(), project.id, req.params.name, req.params.version);
      return reply.status(201).send(await runGates(svc, req, project, model, version, req.body?.alias));
    },
  );

  app.get(
    `${MODELS}/:name/versions/:version/gates/runs`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: "The version's gate runs, newest first",
        params: VersionParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const { version } = await locate(db(), req.project!.id, req.params.name, req.params.version);
      return { runs: (await listGateRuns(db(), version.id)).map(gateRunView) };
    },
  );
}
