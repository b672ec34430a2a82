// webhooks (a project's receivers, each with its sealed HMAC key) and webhook_deliveries (one
// row per event and receiver, written in the event's own transaction, so nothing acknowledged
// is lost when the server stops before the POST). Every function takes the caller's executor.
import { FalajError } from '../../../core/errors.js';
import type { Executor } from '../../../store/executor.js';
import type { WebhookDeliveriesTable, WebhooksTable } from '../../../store/schema.js';

export const WEBHOOK_EVENTS = [
  'model_version.created',
  'promotion.requested',
  'promotion.approved',
  'promotion.rejected',
  'alias.changed',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export function webhookView(r: WebhooksTable) {
  return {
    id: r.id,
    url: r.url,
    events: JSON.parse(r.events) as WebhookEvent[],
    active: Number(r.active) === 1,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    createdBy: r.created_by,
  };
}

export function deliveryView(r: WebhookDeliveriesTable) {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    event: r.event,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state as 'pending' | 'delivered' | 'failed',
    attempts: Number(r.attempts),
    nextAttemptAt: r.state === 'pending' ? new Date(Number(r.next_attempt_at)).toISOString() : null,
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    lastError: r.last_error,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    deliveredAt: r.delivered_at === null ? null : new Date(Number(r.delivered_at)).toISOString(),
  };
}

export async function insertWebhook(tx: Executor, row: WebhooksTable): Promise<void> {
  await tx.insertInto('webhooks').values(row).execute();
}

export async function listWebhooks(db: Executor, projectId: string): Promise<WebhooksTable[]> {
  return db
    .selectFrom('webhooks')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function getWebhook(db: Executor, projectId: string, id: string): Promise<WebhooksTable> {
  const r = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) throw new FalajError('FALAJ_NOT_FOUND', `webhook '${id}' does not exist`, { kind: 'webhook', id });
  return r;
}

export async function setWebhookActive(tx: Executor, id: string, active: boolean): Promise<void> {
  await tx
    .updateTable('webhooks')
    .set({ active: active ? 1 : 0 })
    .where('id', '=', id)
    .execute();
}

/** Deletes the webhook with its delivery log (cascade). */
export async function deleteWebhook(tx: Executor, id: string): Promise<void> {
  await tx.deleteFrom('webhooks').where('id', '=', id).execute();
}

/** The project's active webhooks subscribed to `event`. */
export async function subscribers(
  db: Executor,
  projectId: string,
  event: WebhookEvent,
): Promise<WebhooksTable[]> {
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('active', '=', 1)
    .execute();
  return rows.filter((r) => (JSON.parse(r.events) as string[]).includes(event));
}

export async function insertDeliveries(tx: Executor, rows: WebhookDeliveriesTable[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.insertInto('webhook_deliveries').values(rows).execute();
}

/** A webhook's deliveries, newest first (the delivery log). */
export async function listDeliveries(
  db: Executor,
  webhookId: string,
  opts: { limit: number; state?: string },
): Promise<WebhookDeliveriesTable[]> {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
  if (opts.state) q = q.where('state', '=', opts.state);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
}

/** Pending deliveries that are due, oldest first, with their webhook's URL and sealed key. */
export async function dueDeliveries(db: Executor, now: number, limit: number) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .select([
      'd.id',
      'd.webhook_id',
      'd.event',
      'd.payload',
      'd.attempts',
      'd.next_attempt_at',
      'w.url',
      'w.secret',
      'w.project_id',
    ])
    .where('d.state', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .orderBy('d.next_attempt_at')
    .orderBy('d.id')
    .limit(limit)
    .execute();
}

/**
 * Takes a due delivery for one attempt: moves its next attempt to `leaseUntil` only if nobody
 * else did (another server, an earlier pass). False when it was taken.
 */
export async function claimDelivery(
  db: Executor,
  id: string,
  seenNextAt: number,
  leaseUntil: number,
): Promise<boolean> {
  const r = await db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: leaseUntil })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .where('next_attempt_at', '=', seenNextAt)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function recordAttempt(
  db: Executor,
  id: string,
  outcome: {
    state: 'pending' | 'delivered' | 'failed';
    attempts: number;
    nextAttemptAt: number;
    status: number | null;
    error: string | null;
    deliveredAt: number | null;
  },
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({
      state: outcome.state,
      attempts: outcome.attempts,
      next_attempt_at: outcome.nextAttemptAt,
      last_status: outcome.status,
      last_error: outcome.error,
      delivered_at: outcome.deliveredAt,
    })
    .where('id', '=', id)
    .execute();
}

/** Puts a delivery back in the queue (a failed one retried by hand). */
export async function requeueDelivery(
  tx: Executor,
  webhookId: string,
  id: string,
  now: number,
): Promise<boolean> {
  const r = await tx
    .updateTable('webhook_deliveries')
    .set({ state: 'pending', next_attempt_at: now })
    .where('id', '=', id)
    .where('webhook_id', '=', webhookId)
    .where('state', '=', 'failed')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
