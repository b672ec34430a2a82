// gate_policies (a model's policy as revisions, never edited in place) and gate_runs (each
// run of the gates on a version, every check with its outcome). Every function takes the
// caller's executor.
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';
import type { GatePoliciesTable, GateRunsTable } from '../../store/schema.js';
import type { CheckResult } from './gates/checks.js';
import type { GatePolicy } from './gates/policy.js';

export interface PolicyView {
  revision: number;
  policy: GatePolicy;
  source: string;
  createdAt: string;
  createdBy: string;
}

export function policyView(r: GatePoliciesTable): PolicyView {
  return {
    revision: Number(r.revision),
    policy: JSON.parse(r.policy) as GatePolicy,
    source: r.source,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    createdBy: r.created_by,
  };
}

/** The model's current policy (its highest revision), if it has one. */
export async function currentPolicy(db: Executor, modelId: string): Promise<GatePoliciesTable | undefined> {
  return db
    .selectFrom('gate_policies')
    .selectAll()
    .where('model_id', '=', modelId)
    .orderBy('revision', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function policyRevision(
  db: Executor,
  modelId: string,
  revision: number,
): Promise<GatePoliciesTable> {
  const r = await db
    .selectFrom('gate_policies')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('revision', '=', revision)
    .executeTakeFirst();
  if (!r)
    throw new FalajError('FALAJ_NOT_FOUND', `gate policy revision ${revision} does not exist`, {
      kind: 'gate policy revision',
      id: String(revision),
    });
  return r;
}

/** Every revision, newest first. */
export async function listPolicyRevisions(db: Executor, modelId: string): Promise<GatePoliciesTable[]> {
  return db
    .selectFrom('gate_policies')
    .selectAll()
    .where('model_id', '=', modelId)
    .orderBy('revision', 'desc')
    .execute();
}

/**
 * Adds the next revision. Two concurrent changes cannot both take a number (the primary key):
 * the second is refused with FALAJ_CONFLICT rather than silently reordered.
 */
export async function insertPolicy(
  tx: Executor,
  p: { modelId: string; policy: GatePolicy; source: string; now: number; by: string },
): Promise<GatePoliciesTable> {
  const last = await currentPolicy(tx, p.modelId);
  const row: GatePoliciesTable = {
    model_id: p.modelId,
    revision: last ? Number(last.revision) + 1 : 1,
    policy: JSON.stringify(p.policy),
    source: p.source,
    created_at: p.now,
    created_by: p.by,
  };
  const inserted = await tx
    .insertInto('gate_policies')
    .values(row)
    .onConflict((oc) => oc.columns(['model_id', 'revision']).doNothing())
    .returning('revision')
    .executeTakeFirst();
  if (!inserted)
    throw new FalajError(
      'FALAJ_CONFLICT',
      'the gate policy was changed at the same time: read it and set it again',
      {
        revision: row.revision,
      },
    );
  return row;
}

export interface GateRunView {
  id: string;
  versionId: string;
  policyRevision: number | null;
  passed: boolean;
  checks: CheckResult[];
  createdAt: string;
  createdBy: string;
}

export function gateRunView(r: GateRunsTable): GateRunView {
  return {
    id: r.id,
    versionId: r.version_id,
    policyRevision: r.policy_revision === null ? null : Number(r.policy_revision),
    passed: Number(r.passed) === 1,
    checks: JSON.parse(r.checks) as CheckResult[],
    createdAt: new Date(Number(r.created_at)).toISOString(),
    createdBy: r.created_by,
  };
}

export async function insertGateRun(tx: Executor, row: GateRunsTable): Promise<void> {
  await tx.insertInto('gate_runs').values(row).execute();
}

/** The version's gate runs, newest first. */
export async function listGateRuns(db: Executor, versionId: string): Promise<GateRunsTable[]> {
  return db
    .selectFrom('gate_runs')
    .selectAll()
    .where('version_id', '=', versionId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

export async function gateRunsByIds(db: Executor, ids: readonly string[]): Promise<GateRunsTable[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('gate_runs')
    .selectAll()
    .where('id', 'in', [...ids])
    .execute();
}
