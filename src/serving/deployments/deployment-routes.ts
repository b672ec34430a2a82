// The deployments API: /api/v1/projects/:project/deployments. Maintainers create, change, roll
// back and delete (every change a revision, audited); a project admin may make one public;
// viewers read; editors post ground-truth labels. After a change this server reconciles at once,
// so the answer already says whether the new revision loaded.
import { Type } from '@fastify/type-provider-typebox';
import type { FalajApp, Services } from '../../http/services.js';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import type { DeploymentHost } from '../host/deployment-host.js';
import { openRequestLog, parseLabelFile, recordLabels } from '../request-log/index.js';
import {
  createDeployment,
  DEPLOYMENT_NAME_PATTERN,
  deleteDeployment,
  rollbackDeployment,
  setDeploymentPublic,
  updateDeployment,
} from './deployment-service.js';
import type { SpecChange } from './deployment-spec.js';
import {
  getDeployment,
  getRevision,
  listDeployments,
  listRevisions,
  replicasOf,
} from './deployment-store.js';
import { deploymentView, revisionView } from './deployment-views.js';

export const DEPLOYMENTS = '/api/v1/projects/:project/deployments';
const TAGS = ['deployments'];
const Json = Type.Unknown();
const Project = Type.String({ pattern: PROJECT_NAME_PATTERN });
const ProjectParams = Type.Object({ project: Project });
export const DeploymentParams = Type.Object({
  project: Project,
  deployment: Type.String({ pattern: DEPLOYMENT_NAME_PATTERN }),
});

const ModelRef = Type.String({ minLength: 1, maxLength: 600 });
const ChangeFields = {
  model: Type.Optional(ModelRef),
  canary: Type.Optional(
    Type.Union([
      Type.Object({ model: ModelRef, percent: Type.Number() }, { additionalProperties: false }),
      Type.Null(),
    ]),
  ),
  shadow: Type.Optional(
    Type.Union([Type.Object({ model: ModelRef }, { additionalProperties: false }), Type.Null()]),
  ),
  autoRollback: Type.Optional(
    Type.Union([
      Type.Object(
        {
          maxErrorRate: Type.Optional(Type.Number()),
          maxP99Ms: Type.Optional(Type.Number()),
          windowSeconds: Type.Optional(Type.Integer()),
          minRequests: Type.Optional(Type.Integer()),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
  ),
  log: Type.Optional(
    Type.Object(
      {
        sample: Type.Optional(Type.Number()),
        pii: Type.Optional(Type.Union([Type.Literal('hash'), Type.Literal('drop'), Type.Literal('keep')])),
      },
      { additionalProperties: false },
    ),
  ),
  placement: Type.Optional(Type.Union([Type.Literal('embedded'), Type.Literal('replicas')])),
};

/** The change a body describes, without the fields that are not part of the spec. */
function changeOf(body: Record<string, unknown>): SpecChange {
  const { name: _n, description: _d, ...change } = body;
  return change as SpecChange;
}

export async function deploymentRoutes(
  app: FalajApp,
  svc: Services,
  host: DeploymentHost | undefined,
): Promise<void> {
  const db = () => svc.store.db;

  async function view(project: { id: string; name: string }, name: string) {
    const row = await getDeployment(db(), project, name);
    const rev = await getRevision(db(), row.id, row.revision);
    return deploymentView(project.name, row, rev!.spec, await replicasOf(db(), [row.id]));
  }
  /** This server serves the change at once (others pick it up on their next pass). */
  const settle = async () => host?.reconcile();

  app.post(
    DEPLOYMENTS,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary:
          'Create a deployment serving MODEL@VERSION or MODEL@ALIAS (an alias is followed when it moves); 201 once this server has tried to load it (state ready, or failed with the reason)',
        params: ProjectParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 63 }),
            description: Type.Optional(Type.String({ maxLength: 10_000 })),
            ...ChangeFields,
          },
          { additionalProperties: false },
        ),
        response: { 201: Json },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const row = await createDeployment(svc, req, project, {
        name: req.body.name,
        ...(req.body.description !== undefined ? { description: req.body.description } : {}),
        change: changeOf(req.body),
      });
      await settle();
      return reply.status(201).send(await view(project, row.name));
    },
  );

  app.get(
    DEPLOYMENTS,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: "The project's deployments",
        params: ProjectParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      const rows = await listDeployments(db(), project.id);
      const replicas = await replicasOf(
        db(),
        rows.map((r) => r.id),
      );
      const out = [];
      for (const row of rows) {
        const rev = await getRevision(db(), row.id, row.revision);
        out.push(
          deploymentView(
            project.name,
            row,
            rev!.spec,
            replicas.filter((r) => r.deploymentId === row.id),
          ),
        );
      }
      return { deployments: out };
    },
  );

  app.get(
    `${DEPLOYMENTS}/:deployment`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'A deployment: its spec, state, the versions serving and its replicas',
        params: DeploymentParams,
        response: { 200: Json },
      },
    },
    async (req) => view(req.project!, req.params.deployment),
  );

  app.patch(
    `${DEPLOYMENTS}/:deployment`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary:
          'Change a deployment (a new revision): a new model (blue/green), a canary {model, percent} or null, a shadow {model} or null, promoteCanary, autoRollback, log, placement',
        params: DeploymentParams,
        body: Type.Object(
          { ...ChangeFields, promoteCanary: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      await updateDeployment(svc, req, project, req.params.deployment, changeOf(req.body));
      await settle();
      return view(project, req.params.deployment);
    },
  );

  app.post(
    `${DEPLOYMENTS}/:deployment/rollback`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary: 'Restore the previous revision (or `revision`) as a new revision',
        params: DeploymentParams,
        body: Type.Optional(
          Type.Object(
            { revision: Type.Optional(Type.Integer({ minimum: 1 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      await rollbackDeployment(svc, req, project, req.params.deployment, req.body?.revision);
      await settle();
      return view(project, req.params.deployment);
    },
  );

  app.get(
    `${DEPLOYMENTS}/:deployment/revisions`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary: 'Every revision, newest first',
        params: DeploymentParams,
        response: { 200: Json },
      },
    },
    async (req) => {
      const row = await getDeployment(db(), req.project!, req.params.deployment);
      return { revisions: (await listRevisions(db(), row.id)).map(revisionView) };
    },
  );

  app.delete(
    `${DEPLOYMENTS}/:deployment`,
    {
      config: { permission: 'project:maintainer' },
      schema: { tags: TAGS, summary: 'Delete a deployment (it stops serving)', params: DeploymentParams },
    },
    async (req, reply) => {
      await deleteDeployment(svc, req, req.project!, req.params.deployment);
      await settle();
      return reply.status(204).send();
    },
  );

  app.put(
    `${DEPLOYMENTS}/:deployment/public`,
    {
      config: { permission: 'project:admin' },
      schema: {
        tags: TAGS,
        summary: 'Make a deployment callable without a token, or not (project admins; audited)',
        params: DeploymentParams,
        body: Type.Object({ public: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Json },
      },
    },
    async (req) => {
      const project = req.project!;
      await setDeploymentPublic(svc, req, project, req.params.deployment, req.body.public);
      await settle();
      return view(project, req.params.deployment);
    },
  );

  app.get(
    `${DEPLOYMENTS}/:deployment/requests`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary:
          "The request log's newest rows (written in batches: a request shows up a few seconds after it was answered), with labels where they arrived; `from`/`to` in epoch ms",
        params: DeploymentParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
            from: Type.Optional(Type.Integer({ minimum: 0 })),
            to: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
    },
    async (req) => {
      const row = await getDeployment(db(), req.project!, req.params.deployment);
      const { limit = 100, from, to } = req.query;
      const log = await openRequestLog(svc, row.id, {
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
      });
      try {
        const rows = await log.query(
          `SELECT * FROM labelled ORDER BY "time" DESC, request_id, "row" LIMIT ${Number(limit)}`,
        );
        return { requests: rows.map(plainRow) };
      } finally {
        await log.close();
      }
    },
  );

  const LabelItem = Type.Object(
    {
      request_id: Type.String(),
      row: Type.Optional(Type.Integer({ minimum: 0 })),
      label: Type.Union([Type.String(), Type.Number()]),
    },
    { additionalProperties: false },
  );
  app.post(
    `${DEPLOYMENTS}/:deployment/labels`,
    {
      config: { permission: 'project:editor' },
      schema: {
        tags: TAGS,
        summary:
          'Ground truth for logged requests, by request id (the X-Request-Id of the answer) and row: {labels: [{request_id, row?, label}]}; a bad item refuses the whole call',
        params: DeploymentParams,
        body: Type.Object(
          { labels: Type.Array(LabelItem, { maxItems: 100_000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Json },
      },
      bodyLimit: 64 * 1024 * 1024,
    },
    async (req) => {
      const row = await getDeployment(db(), req.project!, req.params.deployment);
      return recordLabels(
        svc,
        row.id,
        req.body.labels.map((l) => ({
          requestId: l.request_id,
          label: l.label,
          ...(l.row !== undefined ? { row: l.row } : {}),
        })),
        req.identity?.username ?? 'anonymous',
      );
    },
  );

  await app.register(async (scope) => {
    for (const type of ['text/csv', 'application/x-ndjson', 'application/jsonl'])
      scope.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 }, (_r, body, done) =>
        done(null, body),
      );
    scope.withTypeProvider<import('@fastify/type-provider-typebox').TypeBoxTypeProvider>().post(
      `${DEPLOYMENTS}/:deployment/labels/file`,
      {
        config: { permission: 'project:editor' },
        schema: {
          tags: TAGS,
          summary:
            'Ground truth in bulk: a CSV (header request_id,label[,row]) or JSON lines ({request_id, label, row?}); errors name the line',
          params: DeploymentParams,
          response: { 200: Json },
        },
        bodyLimit: 64 * 1024 * 1024,
      },
      async (req) => {
        const row = await getDeployment(db(), req.project!, req.params.deployment);
        const labels = parseLabelFile(String(req.body ?? ''), req.headers['content-type'] ?? '');
        return recordLabels(svc, row.id, labels, req.identity?.username ?? 'anonymous');
      },
    );
  });
}

/** A DuckDB row as JSON: BIGINT as a number, TIMESTAMP as ISO 8601. */
function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'bigint') out[k] = Number(v);
    else if (v instanceof Date) out[k] = v.toISOString();
    else if (v !== null && typeof v === 'object' && 'micros' in v)
      out[k] = new Date(Number((v as { micros: bigint }).micros / 1000n)).toISOString();
    else out[k] = v;
  }
  return out;
}
