// The platform owner's side of agents: agent tokens (the credential `falaj agent` runs with) and
// the agents themselves (list, remove). The agent protocol's own routes are in ./agent-routes.ts.
import { Type } from '@fastify/type-provider-typebox';
import { FalajError } from '../../../core/errors.js';
import { audited } from '../../../http/audited.js';
import type { FalajApp, Services } from '../../../http/services.js';
import { iso, Nullable } from '../../../http/wire.js';
import { credentialStatus } from '../../../security/access/token-store.js';
import { AGENT_TOKEN_PREFIX, newSecretToken, sha256Hex } from '../../../security/secrets/secrets.js';
import type { Executor as Db } from '../../../store/executor.js';
import type { AgentsTable } from '../../../store/schema.js';
import type { AgentCapacity } from '../protocol.js';
import { endAgentLease, findAgent, leaseLive, listAgents, openAttemptCounts } from './agent-store.js';
import { createAgentToken, listAgentTokens, revokeAgentToken } from './agent-tokens.js';

const DAY_MS = 86_400_000;
const MAX_TOKEN_DAYS = 3650;
/** Agents whose lease lapsed longer ago than this are left out of the list unless `all` is asked. */
const LIST_LOST_FOR_MS = DAY_MS;

const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  lastUsedAt: Nullable(Type.String()),
  revokedAt: Nullable(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
});
const TokenParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) });
const AgentParams = Type.Object({ id: Type.String({ pattern: '^agent-[0-9a-f]{16}$' }) });

/** An agent as the owner sees it; `state` is live, draining or lost (its lease lapsed). */
export interface AgentView {
  id: string;
  name: string;
  state: 'live' | 'draining' | 'lost';
  registeredBy: string;
  tokenId: string | null;
  capacity: AgentCapacity;
  attempts: number;
  lastSeenAt: string;
  leaseExpiresAt: string;
  createdAt: string;
}

async function agentViews(svc: Services, db: Db, all: boolean): Promise<AgentView[]> {
  const now = svc.clock.now();
  const agents = await listAgents(db, all ? undefined : now - LIST_LOST_FOR_MS);
  const counts = await openAttemptCounts(db);
  return agents.map((a: AgentsTable) => {
    const capacity = JSON.parse(a.capacity) as AgentCapacity;
    return {
      id: a.id,
      name: a.name,
      state: !leaseLive(svc, a) ? 'lost' : capacity.labels?.draining === 'true' ? 'draining' : 'live',
      registeredBy: a.owner,
      tokenId: a.token_id,
      capacity,
      // Unfinished attempts on record; those of a lost agent are retried elsewhere.
      attempts: leaseLive(svc, a) ? (counts.get(a.id) ?? 0) : 0,
      lastSeenAt: iso(a.last_seen_at)!,
      leaseExpiresAt: iso(a.lease_expires_at)!,
      createdAt: iso(a.created_at)!,
    };
  });
}

export async function agentAdminRoutes(app: FalajApp, svc: Services): Promise<void> {
  const { clock } = svc;

  app.post(
    '/api/v1/agent-tokens',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['jobs'],
        summary:
          'Create an agent token for `falaj agent --token` (shown once): it may register agents and run their work, nothing else',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
            expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOKEN_DAYS })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const token = newSecretToken(AGENT_TOKEN_PREFIX);
      const now = clock.now();
      // Agents are long-lived services: no expiry unless asked; revoking is how one is retired.
      const expiresAt = req.body.expiresInDays ? now + req.body.expiresInDays * DAY_MS : null;
      const created = await audited(
        svc,
        req,
        async (tx) => {
          const id = await createAgentToken(tx, {
            name: req.body.name,
            tokenHash: sha256Hex(token),
            createdBy: req.identity!.username,
            now,
            expiresAt,
          });
          return {
            result: { id, name: req.body.name, expiresAt: iso(expiresAt) },
            audit: {
              action: 'agent-token.create',
              objectType: 'agent_token',
              objectId: id,
              details: { name: req.body.name, expiresAt: iso(expiresAt) },
            },
          };
        },
        201,
      );
      return reply.status(201).send({ ...created, token });
    },
  );

  app.get(
    '/api/v1/agent-tokens',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['jobs'],
        summary: 'The agent tokens (never their secrets)',
        response: { 200: Type.Object({ tokens: Type.Array(TokenView) }) },
      },
    },
    async () => {
      const now = clock.now();
      const rows = await listAgentTokens(svc.store.db);
      return {
        tokens: rows.map((r) => ({
          id: r.id,
          name: r.name,
          createdBy: r.created_by,
          createdAt: iso(r.created_at)!,
          expiresAt: iso(r.expires_at),
          lastUsedAt: iso(r.last_used_at),
          revokedAt: iso(r.revoked_at),
          status: credentialStatus(r.revoked_at, r.expires_at, now),
        })),
      };
    },
  );

  app.delete(
    '/api/v1/agent-tokens/:id',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['jobs'],
        summary:
          "Revoke an agent token: its agents' leases end now, and their unfinished attempts are retried elsewhere",
        params: TokenParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const now = clock.now();
      await audited(svc, req, async (tx) => {
        const revoked = await revokeAgentToken(tx, req.params.id, now);
        if (!revoked) throw new FalajError('FALAJ_NOT_FOUND', `no agent token '${req.params.id}'`);
        return {
          result: undefined,
          audit: {
            action: 'agent-token.revoke',
            objectType: 'agent_token',
            objectId: revoked.id,
            details: { agentsEnded: revoked.agentsEnded },
          },
        };
      });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/agents',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['jobs'],
        summary: 'The agents: live, draining, and lost within the last day (`all=true`: every one on record)',
        querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      },
    },
    async (req) => ({ agents: await agentViews(svc, svc.store.db, req.query.all === true) }),
  );

  app.delete(
    '/api/v1/agents/:id',
    {
      config: { permission: 'owner' },
      schema: {
        tags: ['jobs'],
        summary:
          'Remove an agent: its lease ends now and its unfinished attempts are retried elsewhere (revoke its token to keep it from registering again)',
        params: AgentParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const now = clock.now();
      await audited(svc, req, async (tx) => {
        const agent = await findAgent(tx, req.params.id);
        if (!agent) throw new FalajError('FALAJ_NOT_FOUND', `no agent '${req.params.id}'`);
        const wasLive = leaseLive(svc, agent);
        if (wasLive) await endAgentLease(tx, agent.id, now);
        return {
          result: undefined,
          audit: {
            action: 'agent.remove',
            objectType: 'agent',
            objectId: agent.id,
            details: { name: agent.name, wasLive },
          },
        };
      });
      return reply.status(204).send(null);
    },
  );
}
