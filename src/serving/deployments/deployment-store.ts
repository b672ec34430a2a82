// The serving tables' queries (migration 0015): deployments, their revisions and the replicas
// that report readiness. Nothing here decides anything; deployment-service.ts does.
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';
import type { DeploymentsTable, ServingReplicasTable } from '../../store/schema.js';
import { type DeploymentSpec, parseStoredSpec } from './deployment-spec.js';

export type DeploymentRow = DeploymentsTable;

export type RevisionReason = 'create' | 'update' | 'rollback' | 'auto-rollback' | 'promote-canary';

export interface RevisionRow {
  deploymentId: string;
  revision: number;
  spec: DeploymentSpec;
  reason: RevisionReason;
  details: Record<string, unknown> | null;
  createdAt: number;
  createdBy: string;
}

/** A deployment with its current spec and project name (what hosts load). */
export interface CurrentDeployment {
  row: DeploymentRow;
  project: string;
  spec: DeploymentSpec;
}

export function deploymentNotFound(name: string, project: string): FalajError {
  return new FalajError(
    'FALAJ_DEPLOYMENT_NOT_FOUND',
    `no deployment '${name.slice(0, 200)}' in project '${project}'`,
    { deployment: name.slice(0, 200) },
  );
}

export async function findDeployment(
  db: Executor,
  projectId: string,
  name: string,
): Promise<DeploymentRow | undefined> {
  return db
    .selectFrom('deployments')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .executeTakeFirst();
}

export async function getDeployment(
  db: Executor,
  project: { id: string; name: string },
  name: string,
): Promise<DeploymentRow> {
  const row = await findDeployment(db, project.id, name);
  if (!row) throw deploymentNotFound(name, project.name);
  return row;
}

export async function listDeployments(db: Executor, projectId: string): Promise<DeploymentRow[]> {
  return db
    .selectFrom('deployments')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('name')
    .execute();
}

export async function insertDeployment(db: Executor, row: DeploymentRow): Promise<void> {
  await db.insertInto('deployments').values(row).execute();
}

export async function insertRevision(db: Executor, r: RevisionRow): Promise<void> {
  await db
    .insertInto('deployment_revisions')
    .values({
      deployment_id: r.deploymentId,
      revision: r.revision,
      spec: JSON.stringify(r.spec),
      reason: r.reason,
      details: r.details ? JSON.stringify(r.details) : null,
      created_at: r.createdAt,
      created_by: r.createdBy,
    })
    .execute();
}

/**
 * Moves the deployment from revision `from` to `to`; false when another change got there first
 * (two servers rolling back the same canary: one wins, the other changes nothing).
 */
export async function advanceRevision(
  db: Executor,
  id: string,
  from: number,
  to: number,
  now: number,
): Promise<boolean> {
  const res = await db
    .updateTable('deployments')
    .set({ revision: to, updated_at: now, state: 'loading', state_reason: `revision ${to} is loading` })
    .where('id', '=', id)
    .where('revision', '=', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

function revisionOf(r: {
  deployment_id: string;
  revision: number;
  spec: string;
  reason: string;
  details: string | null;
  created_at: number;
  created_by: string;
}): RevisionRow {
  return {
    deploymentId: r.deployment_id,
    revision: Number(r.revision),
    spec: parseStoredSpec(r.spec),
    reason: r.reason as RevisionReason,
    details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
  };
}

export async function getRevision(
  db: Executor,
  deploymentId: string,
  revision: number,
): Promise<RevisionRow | undefined> {
  const r = await db
    .selectFrom('deployment_revisions')
    .selectAll()
    .where('deployment_id', '=', deploymentId)
    .where('revision', '=', revision)
    .executeTakeFirst();
  return r ? revisionOf(r) : undefined;
}

export async function listRevisions(db: Executor, deploymentId: string): Promise<RevisionRow[]> {
  const rows = await db
    .selectFrom('deployment_revisions')
    .selectAll()
    .where('deployment_id', '=', deploymentId)
    .orderBy('revision', 'desc')
    .execute();
  return rows.map(revisionOf);
}

export async function deleteDeploymentRows(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('serving_replicas').where('deployment_id', '=', id).execute();
  await db.deleteFrom('deployment_revisions').where('deployment_id', '=', id).execute();
  await db.deleteFrom('deployments').where('id', '=', id).execute();
}

export async function setPublicFlag(db: Executor, id: string, isPublic: boolean, now: number): Promise<void> {
  await db
    .updateTable('deployments')
    .set({ public: isPublic ? 1 : 0, updated_at: now })
    .where('id', '=', id)
    .execute();
}

/** What a host reports after loading (or failing to load) a revision. */
export async function reportState(
  db: Executor,
  id: string,
  revision: number,
  state: string,
  reason: string,
  serving: unknown,
  now: number,
): Promise<void> {
  await db
    .updateTable('deployments')
    .set({ state, state_reason: reason.slice(0, 2000), serving: JSON.stringify(serving), updated_at: now })
    .where('id', '=', id)
    .where('revision', '=', revision)
    .execute();
}

/** Every deployment (or those of the given ids) with its current spec and project name. */
export async function currentDeployments(
  db: Executor,
  ids?: readonly string[],
): Promise<CurrentDeployment[]> {
  let q = db
    .selectFrom('deployments as d')
    .innerJoin('projects as p', 'p.id', 'd.project_id')
    .innerJoin('deployment_revisions as r', (j) =>
      j.onRef('r.deployment_id', '=', 'd.id').onRef('r.revision', '=', 'd.revision'),
    )
    .selectAll('d')
    .select(['p.name as project', 'r.spec as spec']);
  if (ids) {
    if (ids.length === 0) return [];
    q = q.where('d.id', 'in', ids);
  }
  const rows = await q.execute();
  return rows.map(({ project, spec, ...row }) => ({ row, project, spec: parseStoredSpec(spec) }));
}

export interface ReplicaRow {
  replicaId: string;
  deploymentId: string;
  url: string;
  /** Sent by a server with each request it forwards (x-falaj-replica-key). */
  key: string;
  ready: boolean;
  revision: number;
  reason: string;
  startedAt: number;
  lastSeen: number;
}

export async function upsertReplica(db: Executor, r: ReplicaRow): Promise<void> {
  const values = {
    replica_id: r.replicaId,
    deployment_id: r.deploymentId,
    url: r.url,
    key: r.key,
    ready: r.ready ? 1 : 0,
    revision: r.revision,
    reason: r.reason.slice(0, 2000),
    started_at: r.startedAt,
    last_seen: r.lastSeen,
  };
  await db
    .insertInto('serving_replicas')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['replica_id', 'deployment_id']).doUpdateSet({
        url: values.url,
        key: values.key,
        ready: values.ready,
        revision: values.revision,
        reason: values.reason,
        last_seen: values.last_seen,
      }),
    )
    .execute();
}

export async function removeReplica(db: Executor, replicaId: string, deploymentId: string): Promise<void> {
  await db
    .deleteFrom('serving_replicas')
    .where('replica_id', '=', replicaId)
    .where('deployment_id', '=', deploymentId)
    .execute();
}

export async function replicasOf(db: Executor, deploymentIds: readonly string[]): Promise<ReplicaRow[]> {
  if (deploymentIds.length === 0) return [];
  const rows = await db
    .selectFrom('serving_replicas')
    .selectAll()
    .where('deployment_id', 'in', deploymentIds)
    .orderBy('replica_id')
    .execute();
  return rows.map(replicaOf);
}

/** A serving_replicas row as the serving code reads it. */
export function replicaOf(r: ServingReplicasTable): ReplicaRow {
  return {
    replicaId: r.replica_id,
    deploymentId: r.deployment_id,
    url: r.url,
    key: r.key,
    ready: r.ready === 1,
    revision: Number(r.revision),
    reason: r.reason,
    startedAt: Number(r.started_at),
    lastSeen: Number(r.last_seen),
  };
}
