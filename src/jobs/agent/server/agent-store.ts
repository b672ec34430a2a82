// The server's side of the agent protocol, over the `agents` and `agent_attempts` tables: what
// the routes (./agent-routes.ts) and the AgentExecutor (../../executors/agent.ts) share.
import type { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import { storeArtifact } from '../../../artifacts/record-artifact.js';
import { FalajError } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import type { Identity } from '../../../http/identity.js';
import type { Services } from '../../../http/services.js';
import type { Executor } from '../../../store/executor.js';
import type { AgentAttemptsTable, AgentsTable, Database } from '../../../store/schema.js';
import { codeSnapshotDigest } from '../../code-snapshot.js';
import { recordCodeInput } from '../../job-lineage.js';
import {
  ATTEMPT_ENDED_STATES,
  type AttemptStatus,
  type LaunchRequest,
  type NodeCapacity,
} from '../../types.js';
import {
  type AgentCapacity,
  type AgentLease,
  agentLeaseSeconds,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '../protocol.js';

/** Binds a sealed request to its attempt: copied to another row, it does not open. */
const requestContext = (externalId: string) => `agent-attempt|${externalId}`;

export function sealRequest(svc: Services, externalId: string, req: LaunchRequest): string {
  return svc.keyring.wrap(Buffer.from(JSON.stringify(req), 'utf8'), requestContext(externalId));
}

export function openRequest(
  svc: Services,
  row: Pick<AgentAttemptsTable, 'request' | 'external_id'>,
): LaunchRequest {
  return JSON.parse(svc.keyring.unwrap(row.request, requestContext(row.external_id)).toString('utf8'));
}

/** Whether the agent exists and heartbeated within its lease. */
export function leaseLive(svc: Services, agent: AgentsTable | undefined): boolean {
  return agent !== undefined && Number(agent.lease_expires_at) > svc.clock.now();
}

export function nodeOf(agent: AgentsTable): NodeCapacity {
  const capacity = JSON.parse(agent.capacity) as AgentCapacity;
  return {
    ...capacity,
    nodeId: agent.id,
    labels: { ...capacity.labels, executor: 'agent', 'agent.name': agent.name },
  };
}

export async function getAgent(svc: Services, id: string): Promise<AgentsTable | undefined> {
  return findAgent(svc.store.db, id);
}

/** The agent, read through `db` (a transaction, say). */
export async function findAgent(db: Executor, id: string): Promise<AgentsTable | undefined> {
  return db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Agents on record, newest first, at most 1000; with `leaseSince`, those whose lease ends after it. */
export async function listAgents(db: Executor, leaseSince?: number): Promise<AgentsTable[]> {
  let q = db.selectFrom('agents').selectAll().orderBy('created_at', 'desc').orderBy('id');
  if (leaseSince !== undefined) q = q.where('lease_expires_at', '>', leaseSince);
  return q.limit(1000).execute();
}

/** How many unfinished (pending or running) attempts each agent has on record. */
export async function openAttemptCounts(db: Executor): Promise<Map<string, number>> {
  const open = await db
    .selectFrom('agent_attempts')
    .select(['agent_id'])
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', 'in', ['pending', 'running'])
    .groupBy('agent_id')
    .execute();
  return new Map(open.map((r) => [r.agent_id, Number(r.n)]));
}

/** Ends the agent's lease now: its unfinished attempts count as lost and are retried elsewhere. */
export async function endAgentLease(tx: Executor, id: string, now: number): Promise<void> {
  await tx.updateTable('agents').set({ lease_expires_at: now }).where('id', '=', id).execute();
}

function lease(id: string, expiresAt: number): AgentLease {
  return { id, leaseSeconds: agentLeaseSeconds(), leaseExpiresAt: new Date(expiresAt).toISOString() };
}

export async function registerAgent(
  svc: Services,
  tx: Transaction<Database>,
  owner: string,
  tokenId: string | null,
  name: string,
  capacity: AgentCapacity,
): Promise<AgentLease> {
  const now = svc.clock.now();
  const id = `agent-${newId().slice(0, 16)}`;
  const expires = now + agentLeaseSeconds() * 1000;
  await tx
    .insertInto('agents')
    .values({
      id,
      name,
      owner,
      token_id: tokenId,
      capacity: JSON.stringify(capacity),
      lease_expires_at: expires,
      last_seen_at: now,
      created_at: now,
    })
    .execute();
  return lease(id, expires);
}

/**
 * Records what the agent reports, renews its lease, and answers with its work. An agent whose
 * lease lapsed is refused (FALAJ_CONFLICT): its attempts already count as lost and may run
 * elsewhere, so it must stop them and register afresh rather than carry on.
 */
export async function agentHeartbeat(
  svc: Services,
  agentId: string,
  body: HeartbeatRequest,
): Promise<HeartbeatResponse> {
  const db = svc.store.db;
  const agent = await getAgent(svc, agentId);
  if (!agent) throw new FalajError('FALAJ_NOT_FOUND', `no agent '${agentId}'`);
  if (!leaseLive(svc, agent))
    throw new FalajError(
      'FALAJ_CONFLICT',
      `the lease of agent ${agent.name} expired; its attempts were declared lost: register again`,
    );
  const now = svc.clock.now();
  const expires = now + agentLeaseSeconds() * 1000;
  const capacity = JSON.parse(agent.capacity) as AgentCapacity;
  const draining = body.draining === true;
  await db
    .updateTable('agents')
    .set({
      lease_expires_at: expires,
      last_seen_at: now,
      capacity: JSON.stringify({
        ...capacity,
        labels: { ...capacity.labels, ...(draining ? { draining: 'true' } : {}) },
      }),
    })
    .where('id', '=', agentId)
    .execute();
  for (const r of body.attempts) {
    // A state already recorded as ended is final: a late or repeated report cannot revive it.
    await db
      .updateTable('agent_attempts')
      .set({
        state: r.state,
        exit_code: r.exitCode ?? null,
        signal: r.signal ?? null,
        reason: r.reason ?? null,
        updated_at: now,
      })
      .where('external_id', '=', r.externalId)
      .where('agent_id', '=', agentId)
      .where('state', 'in', ['pending', 'running'])
      .execute();
  }
  const held = new Set(body.attempts.map((r) => r.externalId));
  const open = await db
    .selectFrom('agent_attempts')
    .selectAll()
    .where('agent_id', '=', agentId)
    .where('state', 'in', ['pending', 'running'])
    .execute();
  const assignments = open
    .filter((a) => a.state === 'pending' && !held.has(a.external_id) && a.cancel_requested === 0)
    .map((a) => ({ externalId: a.external_id, request: openRequest(svc, a) }));
  const cancels = open
    // Also for attempts the agent does not hold: it answers that they never started.
    .filter((a) => a.cancel_requested !== 0)
    .map((a) => ({ externalId: a.external_id, graceSeconds: a.cancel_grace_seconds ?? 10 }));
  return { ...lease(agentId, expires), assignments, cancels };
}

/**
 * Keeps an ended attempt's log: as the project artifact `jobs/<jobId>/<attempt>/log.txt` when the
 * attempt belongs to a stored job, else as a bare blob; either way its digest goes on the row.
 */
export async function storeAgentLog(
  svc: Services,
  tx: Transaction<Database>,
  agentId: string,
  externalId: string,
  source: Readable,
  createdBy: string,
): Promise<{ size: number }> {
  const row = await tx
    .selectFrom('agent_attempts')
    .selectAll()
    .where('external_id', '=', externalId)
    .where('agent_id', '=', agentId)
    .executeTakeFirst();
  if (!row) throw new FalajError('FALAJ_NOT_FOUND', `agent ${agentId} holds no attempt '${externalId}'`);
  const job = await tx
    .selectFrom('jobs')
    .select('project_id')
    .where('id', '=', row.job_id)
    .executeTakeFirst();
  {
    const stored = job
      ? await storeArtifact(
          svc,
          {
            projectId: job.project_id,
            path: `jobs/${row.job_id}/${row.attempt}/log.txt`,
            source,
            contentType: 'text/plain; charset=utf-8',
            createdBy,
          },
          tx,
        )
      : await svc.artifacts.put(source, { maxBytes: svc.config.maxArtifactBytes });
    await tx
      .updateTable('agent_attempts')
      .set({ log_digest: stored.digest, updated_at: svc.clock.now() })
      .where('external_id', '=', externalId)
      .execute();
    // The whole log is kept now: the live copy shipped while it ran (agent-live-log.ts) goes.
    await tx.deleteFrom('agent_log_chunks').where('external_id', '=', externalId).execute();
    return { size: stored.size };
  }
}

export function statusOfRow(
  svc: Services,
  row: AgentAttemptsTable,
  agent: AgentsTable | undefined,
): AttemptStatus {
  if (ATTEMPT_ENDED_STATES.has(row.state)) {
    return {
      state: row.state as AttemptStatus['state'],
      ...(row.exit_code !== null ? { exitCode: row.exit_code } : {}),
      ...(row.signal !== null ? { signal: row.signal } : {}),
      ...(row.reason !== null ? { reason: row.reason } : {}),
    };
  }
  if (!leaseLive(svc, agent))
    return { state: 'lost', reason: `agent ${agent?.name ?? row.agent_id} stopped heartbeating` };
  return { state: row.state as 'pending' | 'running' };
}

/**
 * Whether this caller may speak for the agent: an owner's session for any agent, an agent token
 * only for the agents it registered. Another token's agent reads as absent (ids are not probed).
 */
export async function speaksFor(svc: Services, identity: Identity | null, agentId: string): Promise<void> {
  if (identity?.kind !== 'agent') return;
  const agent = await getAgent(svc, agentId);
  if (!agent || agent.token_id !== identity.agentToken?.id)
    throw new FalajError('FALAJ_NOT_FOUND', `no agent '${agentId}' registered with this token`);
}

/** The blob of an open attempt's code snapshot: only while the attempt is this agent's to run. */
export async function attemptCodeDigest(svc: Services, agentId: string, externalId: string): Promise<string> {
  const row = await svc.store.db
    .selectFrom('agent_attempts as a')
    .innerJoin('jobs as j', 'j.id', 'a.job_id')
    .select(['a.external_id', 'a.request', 'a.state', 'j.project_id', 'j.id as job_id'])
    .where('a.external_id', '=', externalId)
    .where('a.agent_id', '=', agentId)
    .executeTakeFirst();
  if (!row || ATTEMPT_ENDED_STATES.has(row.state))
    throw new FalajError('FALAJ_NOT_FOUND', `agent ${agentId} holds no open attempt '${externalId}'`);
  const code = openRequest(svc, row).spec.code;
  if (!code || !('artifact' in code))
    throw new FalajError('FALAJ_NOT_FOUND', `attempt '${externalId}' has no code snapshot`);
  const digest = await codeSnapshotDigest(svc.store.db, row.project_id, code.artifact);
  // The snapshot the agent unpacks: lineage code → job (the same edge as at submit, unless the path moved).
  await recordCodeInput(
    svc.store.db,
    row.project_id,
    row.job_id,
    { digest, artifact: code.artifact },
    svc.clock.now(),
  );
  return digest;
}
