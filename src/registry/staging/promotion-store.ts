// promotion_requests: a request to point a protected alias at a version, and its decision.
// A decision is a conditional update (`where state = 'pending'`): of two racing decisions
// exactly one changes the row, and the other sees no row changed. Every function takes the
// caller's executor.
import { FalajError } from '../../core/errors.js';
import type { Executor } from '../../store/executor.js';
import type { PromotionRequestsTable } from '../../store/schema.js';

export type PromotionState = 'pending' | 'approved' | 'rejected' | 'cancelled';

/** A request with its model's name and project, and its version's number. */
export interface PromotionRow extends PromotionRequestsTable {
  model_name: string;
  project_id: string;
  version: number;
}

export function promotionView(r: PromotionRow) {
  const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());
  return {
    id: r.id,
    model: r.model_name,
    version: Number(r.version),
    alias: r.alias,
    state: r.state as PromotionState,
    requestedBy: r.requested_by,
    requestedAt: iso(r.requested_at) as string,
    note: r.note,
    gateRunId: r.gate_run_id,
    decidedBy: r.decided_by,
    decidedAt: iso(r.decided_at),
    decisionReason: r.decision_reason,
    overrideBy: r.override_by,
    overrideReason: r.override_reason,
  };
}
export type PromotionView = ReturnType<typeof promotionView>;

export async function insertPromotion(tx: Executor, row: PromotionRequestsTable): Promise<void> {
  await tx.insertInto('promotion_requests').values(row).execute();
}

function withModel(db: Executor) {
  return db
    .selectFrom('promotion_requests as p')
    .innerJoin('registered_models as m', 'm.id', 'p.model_id')
    .innerJoin('model_versions as v', 'v.id', 'p.version_id')
    .selectAll('p')
    .select(['m.name as model_name', 'm.project_id', 'v.version']);
}

/** The request of the project, or FALAJ_NOT_FOUND (also when its version or model was deleted). */
export async function getPromotion(db: Executor, projectId: string, id: string): Promise<PromotionRow> {
  const r = await withModel(db)
    .where('p.id', '=', id)
    .where('m.project_id', '=', projectId)
    .executeTakeFirst();
  if (!r)
    throw new FalajError(
      'FALAJ_NOT_FOUND',
      `promotion request '${id}' does not exist (or its model version was deleted)`,
      { kind: 'promotion request', id },
    );
  return { ...r, version: Number(r.version) };
}

/** The project's requests, newest first, optionally of one model and in one state. */
export async function listPromotions(
  db: Executor,
  projectId: string,
  opts: { modelId?: string; versionId?: string; state?: PromotionState; limit?: number } = {},
): Promise<PromotionRow[]> {
  let q = withModel(db).where('m.project_id', '=', projectId);
  if (opts.modelId) q = q.where('p.model_id', '=', opts.modelId);
  if (opts.versionId) q = q.where('p.version_id', '=', opts.versionId);
  if (opts.state) q = q.where('p.state', '=', opts.state);
  const rows = await q
    .orderBy('p.requested_at', 'desc')
    .orderBy('p.id', 'desc')
    .limit(opts.limit ?? 1000)
    .execute();
  return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

/** A pending request for the same version and alias, if one exists. */
export async function pendingFor(
  db: Executor,
  versionId: string,
  alias: string,
): Promise<PromotionRequestsTable | undefined> {
  return db
    .selectFrom('promotion_requests')
    .selectAll()
    .where('version_id', '=', versionId)
    .where('alias', '=', alias)
    .where('state', '=', 'pending')
    .executeTakeFirst();
}

/**
 * Decides a pending request. Returns false when the request was no longer pending (decided by
 * someone else in the meantime): the caller must then change nothing else.
 */
export async function decidePromotion(
  tx: Executor,
  id: string,
  d: {
    state: Exclude<PromotionState, 'pending'>;
    by: string;
    at: number;
    reason: string | null;
    gateRunId?: string;
    override?: { by: string; reason: string };
  },
): Promise<boolean> {
  const r = await tx
    .updateTable('promotion_requests')
    .set({
      state: d.state,
      decided_by: d.by,
      decided_at: d.at,
      decision_reason: d.reason,
      ...(d.gateRunId ? { gate_run_id: d.gateRunId } : {}),
      ...(d.override ? { override_by: d.override.by, override_reason: d.override.reason } : {}),
    })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
