// The server's side of `falaj serve` replicas, under /api/v1/projects/:project/deployments/:d:
// the plan a replica loads (viewer), its readiness reports and its leaving (editor), and the
// request-log entries it ships in batches (editor), appended to this server's request log.
import { type Static, Type } from '@fastify/type-provider-typebox';
import { filesAt } from '../../artifacts/artifact-rows.js';
import { FalajError } from '../../core/errors.js';
import { actorOf } from '../../http/identity.js';
import type { FalajApp, Services } from '../../http/services.js';
import { PROJECT_NAME_PATTERN } from '../../projects/projects.js';
import { modelFiles } from '../../registry/staging/evaluation-service.js';
import { getVersionById } from '../../registry/version-store.js';
import { autoRollbackCanary, DEPLOYMENT_NAME_PATTERN } from '../deployments/deployment-service.js';
import {
  deploymentNotFound,
  getDeployment,
  removeReplica,
  upsertReplica,
} from '../deployments/deployment-store.js';
import type { DeploymentHost } from '../host/deployment-host.js';
import { StoreCatalog } from '../host/store-catalog.js';
import type { RequestLogWriter } from '../request-log/index.js';
import { SERVING_BODY_LIMIT } from '../serving-routes.js';
import {
  decodeLogEntry,
  type LogTarget,
  MAX_LOG_BATCH,
  type PlanModel,
  type PlanWire,
  type WireLogEntry,
} from './wire.js';

const BASE = '/api/v1/projects/:project/deployments/:deployment';
const TAGS = ['deployments'];
/** A replica's id: what `falaj serve` makes (host, pid, random) or is given. */
export const REPLICA_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

const Params = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  deployment: Type.String({ pattern: DEPLOYMENT_NAME_PATTERN }),
});
const ReplicaParams = Type.Object({
  project: Type.String({ pattern: PROJECT_NAME_PATTERN }),
  deployment: Type.String({ pattern: DEPLOYMENT_NAME_PATTERN }),
  replica: Type.String({ pattern: REPLICA_ID_PATTERN }),
});
const ReplicaReport = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 }),
    /** The replica's random key (at least 32 characters): servers send it with forwarded requests. */
    key: Type.String({ minLength: 32, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }),
    ready: Type.Boolean(),
    revision: Type.Integer({ minimum: 0 }),
    reason: Type.String({ maxLength: 2000 }),
  },
  { additionalProperties: false },
);

const Cell = (t: ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>) =>
  Type.Array(Type.Union([t, Type.Null()]));
const Label = Type.Union([Type.String(), Type.Number()]);
const LogEntry = Type.Object(
  {
    requestId: Type.String({ minLength: 1, maxLength: 128 }),
    time: Type.Integer({ minimum: 0 }),
    revision: Type.Integer({ minimum: 0 }),
    model: Type.String({ maxLength: 200 }),
    modelVersion: Type.Integer({ minimum: 0 }),
    variant: Type.Union([Type.Literal('primary'), Type.Literal('canary'), Type.Literal('shadow')]),
    protocol: Type.Union([Type.Literal('v2'), Type.Literal('mlflow')]),
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    latencyMs: Type.Number({ minimum: 0 }),
    error: Type.Optional(Type.String({ maxLength: 10_000 })),
    batch: Type.Optional(
      Type.Object({
        rows: Type.Integer({ minimum: 0 }),
        columns: Type.Array(
          Type.Union([
            Type.Object({ name: Type.String(), kind: Type.Literal('number'), values: Cell(Type.Number()) }),
            Type.Object({ name: Type.String(), kind: Type.Literal('string'), values: Cell(Type.String()) }),
          ]),
          { maxItems: 10_000 },
        ),
      }),
    ),
    prediction: Type.Optional(
      Type.Union([
        Type.Object({
          kind: Type.Literal('classifier'),
          labels: Type.Array(Label),
          classes: Type.Array(Label),
          probabilities: Type.Array(Type.Array(Type.Number())),
        }),
        Type.Object({ kind: Type.Literal('regressor'), values: Cell(Type.Number()) }),
      ]),
    ),
  },
  { additionalProperties: false },
);
const LogBatch = Type.Object(
  { entries: Type.Array(LogEntry, { maxItems: MAX_LOG_BATCH }) },
  { additionalProperties: false },
);
export type LogBatchBody = Static<typeof LogBatch>;

/** The model files of each version a plan names, and the artifact route each downloads from. */
async function planModels(
  svc: Services,
  project: string,
  wire: PlanWire['plan'],
): Promise<Record<string, PlanModel>> {
  const db = svc.store.db;
  const out: Record<string, PlanModel> = {};
  for (const v of wire.versions) {
    if (out[v.versionId]) continue;
    const row = await getVersionById(db, v.versionId);
    if (!row) continue; // deleted since: the replica's fetch fails, its host keeps what it serves
    const files = modelFiles(row, await filesAt(db, wire.projectId, row.artifact_path));
    out[v.versionId] = {
      format: v.format,
      files: files.map((f) => ({
        name: f.name,
        digest: f.digest,
        url: `/api/v1/projects/${project}/artifacts/files/${f.path.split('/').map(encodeURIComponent).join('/')}`,
      })),
    };
  }
  return out;
}

export async function replicaRoutes(
  app: FalajApp,
  svc: Services,
  host: DeploymentHost,
  requestLog: RequestLogWriter,
): Promise<void> {
  const db = () => svc.store.db;

  app.get(
    `${BASE}/plan`,
    {
      config: { permission: 'project:viewer' },
      schema: {
        tags: TAGS,
        summary:
          'What a `falaj serve` replica loads: the deployment plan (its revision, spec and the versions it resolves to) and, per version, the model files with their SHA-256 and the artifact route to download them from',
        params: Params,
        response: { 200: Type.Unknown() },
      },
    },
    async (req) => {
      const project = req.project!;
      const row = await getDeployment(db(), project, req.params.deployment);
      const [plan] = await new StoreCatalog(svc, [row.id]).plans();
      if (!plan) throw deploymentNotFound(req.params.deployment, project.name);
      const wire: PlanWire = { plan, models: await planModels(svc, project.name, plan) };
      return wire;
    },
  );

  app.put(
    `${BASE}/replicas/:replica`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary:
          "A replica's readiness report (every ~2 s): the URL the servers route to, whether it serves the deployment now, the revision it serves and why not; the servers route only to replicas ready and seen within 6 s",
        params: ReplicaParams,
        body: ReplicaReport,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const row = await getDeployment(db(), req.project!, req.params.deployment);
      const now = svc.clock.now();
      await upsertReplica(db(), {
        replicaId: req.params.replica,
        deploymentId: row.id,
        url: req.body.url.replace(/\/+$/, ''),
        key: req.body.key,
        ready: req.body.ready,
        revision: req.body.revision,
        reason: req.body.reason,
        startedAt: now,
        lastSeen: now,
      });
      return reply.status(204).send(null);
    },
  );

  app.post(
    `${BASE}/canary-rollback`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary:
          "A replica's automatic rollback of a failing canary: the revision it judged and the numbers (error rate, p99, requests, thresholds); a new revision without the canary, audited as the replica's identity; {revision: null} when the deployment moved meanwhile",
        params: Params,
        body: Type.Object(
          {
            revision: Type.Integer({ minimum: 1 }),
            reason: Type.String({ maxLength: 2000 }),
            requests: Type.Integer({ minimum: 0 }),
            errorRate: Type.Number({ minimum: 0, maximum: 1 }),
            p99Ms: Type.Number({ minimum: 0 }),
            maxErrorRate: Type.Number(),
            maxP99Ms: Type.Number(),
            windowSeconds: Type.Integer(),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ revision: Type.Union([Type.Integer(), Type.Null()]) }) },
      },
    },
    async (req) => {
      const row = await getDeployment(db(), req.project!, req.params.deployment);
      const { revision: from, ...numbers } = req.body;
      const revision = await autoRollbackCanary(svc, row.id, from, numbers, actorOf(req.identity));
      // Written with its own audit event; a rollback that changed nothing goes to the fallback's.
      if (revision !== undefined) {
        req.audited = true;
        await host.reconcile();
      }
      return { revision: revision ?? null };
    },
  );

  app.delete(
    `${BASE}/replicas/:replica`,
    {
      config: { permission: 'project:maintainer' },
      schema: {
        tags: TAGS,
        summary: 'A replica leaves (on SIGTERM): the servers stop routing to it at once',
        params: ReplicaParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const row = await getDeployment(db(), req.project!, req.params.deployment);
      await removeReplica(db(), req.params.replica, row.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    `${BASE}/request-log`,
    {
      config: { permission: 'project:editor' },
      bodyLimit: SERVING_BODY_LIMIT,
      schema: {
        tags: TAGS,
        summary: `Request-log entries a replica answered (at most ${MAX_LOG_BATCH} per call), appended to this server's request log; 202 once taken (a replica retries until it gets one)`,
        params: Params,
        body: LogBatch,
        response: { 202: Type.Object({ accepted: Type.Integer() }) },
      },
    },
    async (req, reply) => {
      const project = req.project!;
      const row = await getDeployment(db(), project, req.params.deployment);
      const live = host.get(project.name, row.name);
      let privacy: LogTarget['privacy'];
      if (live && live.id === row.id) privacy = { columns: live.piiColumns, policy: live.spec.log.pii };
      else {
        const [plan] = await new StoreCatalog(svc, [row.id]).plans();
        privacy = { columns: plan?.piiColumns ?? [], policy: plan?.spec.log.pii ?? 'hash' };
      }
      const target: LogTarget = {
        projectId: row.project_id,
        deploymentId: row.id,
        deployment: row.name,
        privacy,
      };
      let entries: ReturnType<typeof decodeLogEntry>[];
      try {
        entries = req.body.entries.map((w) => decodeLogEntry(w as WireLogEntry, target));
      } catch (err) {
        throw new FalajError('FALAJ_INVALID_ARGUMENT', `request-log entry: ${(err as Error).message}`);
      }
      for (const e of entries) requestLog.append(e);
      return reply.status(202).send({ accepted: entries.length });
    },
  );
}
