// The agent protocol's routes (`falaj agent` on other machines). Agents authenticate with an
// agent token (./agent-admin-routes.ts mints them) or an owner's session (permission `agent`):
// an agent runs any project's jobs and receives their tokens. An agent token speaks only for
// the agents it registered, so one leaked machine cannot take over another's attempts.
import { Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../../core/errors.js';
import { audited } from '../../../http/audited.js';
import type { FalajApp, Services } from '../../../http/services.js';
import type { HeartbeatRequest } from '../protocol.js';
import { appendLiveLog, readShipment } from './agent-live-log.js';
import { agentHeartbeat, attemptCodeDigest, registerAgent, speaksFor, storeAgentLog } from './agent-store.js';

const AgentParams = Type.Object({ id: Type.String({ pattern: '^agent-[0-9a-f]{16}$' }) });
const AttemptParams = Type.Object({
  id: Type.String({ pattern: '^agent-[0-9a-f]{16}$' }),
  externalId: Type.String({ pattern: '^agent-[0-9a-f]{16}\\.[0-9a-f]{16}$' }),
});
const Capacity = Type.Object(
  {
    cpu: Type.Number({ exclusiveMinimum: 0 }),
    memory: Type.Number({ exclusiveMinimum: 0 }),
    gpus: Type.Record(Type.String(), Type.Array(Type.Integer({ minimum: 0 }))),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);
const Report = Type.Object(
  {
    externalId: Type.String({ minLength: 1, maxLength: 200 }),
    state: Type.Union(
      ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'lost'].map((s) => Type.Literal(s)),
    ),
    exitCode: Type.Optional(Type.Integer()),
    signal: Type.Optional(Type.String({ maxLength: 40 })),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export async function agentRoutes(app: FalajApp, svc: Services): Promise<void> {
  app.post(
    '/api/v1/agents',
    {
      config: { permission: 'agent' },
      schema: {
        tags: ['jobs'],
        summary: 'Register an agent (`falaj agent`): its capacity; answers its id and lease',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), capacity: Capacity },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      if (svc.config.executor !== 'agent')
        throw new FalajError(
          'FALAJ_CONFLICT',
          `this server runs jobs with the ${svc.config.executor} executor; start it with --executor agent`,
        );
      const lease = await audited(svc, req, async (tx) => {
        const l = await registerAgent(
          svc,
          tx,
          req.identity!.username,
          req.identity!.agentToken?.id ?? null,
          req.body.name,
          req.body.capacity,
        );
        return {
          result: l,
          audit: {
            action: 'agent.register',
            objectType: 'agent',
            objectId: l.id,
            details: { name: req.body.name },
          },
        };
      });
      return reply.status(201).send(lease);
    },
  );

  app.post(
    '/api/v1/agents/:id/heartbeat',
    {
      config: { permission: 'agent' },
      schema: {
        tags: ['jobs'],
        summary: "Renew an agent's lease and report its attempts; answers assignments and cancels",
        params: AgentParams,
        body: Type.Object(
          { attempts: Type.Array(Report, { maxItems: 10_000 }), draining: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      await speaksFor(svc, req.identity, req.params.id);
      const res = await agentHeartbeat(svc, req.params.id, req.body as HeartbeatRequest);
      // A lease renewal every few seconds is not an audit event; the job transitions it leads
      // to are (the scheduler records each one with job_events and the audit log).
      req.audited = true;
      return res;
    },
  );

  app.get(
    '/api/v1/agents/:id/attempts/:externalId/code',
    {
      config: { permission: 'agent' },
      schema: {
        tags: ['jobs'],
        summary: 'The code snapshot (a tar) of an attempt assigned to this agent and not yet ended',
        params: AttemptParams,
      },
    },
    async (req, reply) => {
      const { id, externalId } = req.params;
      await speaksFor(svc, req.identity, id);
      const digest = await attemptCodeDigest(svc, id, externalId);
      req.audited = true;
      return reply.type('application/x-tar').send(Readable.from(await svc.artifacts.get(digest)));
    },
  );

  await app.register(async (scoped) => {
    const routes = scoped as unknown as FalajApp;
    // The log is streamed to the artifact store as it arrives, whatever its size or type.
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    routes.put(
      '/api/v1/agents/:id/attempts/:externalId/log',
      {
        config: { permission: 'agent' },
        schema: {
          tags: ['jobs'],
          summary: "Upload an ended attempt's log (raw body); kept as jobs/<jobId>/<attempt>/log.txt",
          params: AttemptParams,
        },
      },
      async (req, reply) => {
        const { id, externalId } = req.params;
        await speaksFor(svc, req.identity, id);
        const result = await audited(svc, req, async (tx) => {
          const r = await storeAgentLog(
            svc,
            tx,
            id,
            externalId,
            req.body as import('node:stream').Readable,
            req.identity!.username,
          );
          return {
            result: r,
            audit: { action: 'agent.log', objectType: 'agent-attempt', objectId: externalId, details: r },
          };
        });
        return reply.status(201).send(result);
      },
    );
    routes.put(
      '/api/v1/agents/:id/attempts/:externalId/log-chunks',
      {
        config: { permission: 'agent' },
        schema: {
          tags: ['jobs'],
          summary:
            "Ship a running attempt's log bytes written at `offset` (raw body, ≤ 1 MiB), for live followers",
          params: AttemptParams,
          querystring: Type.Object({ offset: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
        },
      },
      async (req) => {
        const { id, externalId } = req.params;
        await speaksFor(svc, req.identity, id);
        const bytes = await readShipment(req.body as import('node:stream').Readable);
        // Like heartbeats, shipments are not audit events; the log's final upload is.
        req.audited = true;
        return appendLiveLog(svc, id, externalId, req.query.offset, bytes);
      },
    );
  });
}
